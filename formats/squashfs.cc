// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/squashfs.h"

#include <fcntl.h>
#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/predef.h>
#include <sqfs/super.h>
#include <sqfs/xattr_writer.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

#include "base/cpus.h"
#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"
#include "formats/xattrs.h"

namespace imager::formats::squashfs {
namespace {

struct Destroy {
  void operator()(void* obj) const { sqfs_destroy(obj); }
};
template <typename T>
using Obj = std::unique_ptr<T, Destroy>;

// Inodes come from libsquashfs (freed with sqfs_free) or from us (calloc, freed with free).
using InodePtr = std::unique_ptr<sqfs_inode_generic_t, void (*)(void*)>;

constexpr uint32_t kNoXattr = 0xFFFFFFFF;

std::string SqfsMessage(int code) {
  switch (code) {
    case SQFS_ERROR_ALLOC:
      return "out of memory";
    case SQFS_ERROR_IO:
      return std::string("I/O error: ") + std::strerror(errno);
    case SQFS_ERROR_COMPRESSOR:
      return "compressor failed";
    case SQFS_ERROR_INTERNAL:
      return "internal error in libsquashfs";
    case SQFS_ERROR_UNSUPPORTED:
      return "not supported by squashfs";
    case SQFS_ERROR_OVERFLOW:
      return "too large for squashfs";
    case SQFS_ERROR_OUT_OF_BOUNDS:
      return "out of bounds";
    case SQFS_ERROR_ARG_INVALID:
      return "invalid argument";
    case SQFS_ERROR_SEQUENCE:
      return "libsquashfs calls out of sequence";
    default:
      return "libsquashfs error " + std::to_string(code);
  }
}

Error SqfsError(const std::string& what, int code) {
  return Error{what + ": " + SqfsMessage(code)};
}

// One directory entry of the tree being written. Entries that are hard links to an earlier one
// point to it (`first`) and have no inode of their own.
struct Node {
  std::string name;
  std::string path;
  struct stat st {};
  Node* parent = nullptr;
  std::vector<std::unique_ptr<Node>> children;  // directories: sorted bytewise
  uint32_t subdirs = 0;
  Node* first = nullptr;
  uint32_t nlink = 1;  // entries in this tree that share the inode
  uint32_t inode_number = 0;
  uint64_t inode_ref = 0;  // where the inode is in the inode table
  bool written = false;
  sqfs_inode_generic_t* file_inode = nullptr;  // regular files: filled in by the block processor

  ~Node() { sqfs_free(file_inode); }
  const Node& inode() const { return first ? *first : *this; }
};

// The Linux "new" device number encoding that squashfs stores.
uint32_t EncodeDev(dev_t dev) {
  uint32_t ma = major(dev), mi = minor(dev);
  return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

InodePtr NewInode(SQFS_INODE_TYPE type, size_t payload) {
  void* mem = std::calloc(1, sizeof(sqfs_inode_generic_t) + payload);
  InodePtr inode(static_cast<sqfs_inode_generic_t*>(mem), std::free);
  if (inode) {
    inode->base.type = type;
    inode->payload_bytes_available = inode->payload_bytes_used = static_cast<uint32_t>(payload);
  }
  return inode;
}

// The link count lives in a different place for every inode type; basic file inodes have none.
void SetLinkCount(sqfs_inode_generic_t* in, uint32_t nlink) {
  if (in->base.type == SQFS_INODE_FILE && nlink > 1) sqfs_inode_make_extended(in);
  switch (in->base.type) {
    case SQFS_INODE_EXT_FILE:
      in->data.file_ext.nlink = nlink;
      break;
    case SQFS_INODE_SLINK:
      in->data.slink.nlink = nlink;
      break;
    case SQFS_INODE_EXT_SLINK:
      in->data.slink_ext.nlink = nlink;
      break;
    case SQFS_INODE_BDEV:
    case SQFS_INODE_CDEV:
      in->data.dev.nlink = nlink;
      break;
    case SQFS_INODE_EXT_BDEV:
    case SQFS_INODE_EXT_CDEV:
      in->data.dev_ext.nlink = nlink;
      break;
    case SQFS_INODE_FIFO:
    case SQFS_INODE_SOCKET:
      in->data.ipc.nlink = nlink;
      break;
    case SQFS_INODE_EXT_FIFO:
    case SQFS_INODE_EXT_SOCKET:
      in->data.ipc_ext.nlink = nlink;
      break;
    default:
      break;
  }
}

// libsquashfs' lz4 returns blocks that grew where the compressor contract says 0 ("keep this
// block uncompressed"); unsquashfs then rejects the image's metadata as corrupt. This wrapper
// enforces the contract for every compressor: a block that does not shrink is stored as is.
struct ShrinkOnly {
  sqfs_compressor_t iface;  // first: libsquashfs sees a plain compressor
  sqfs_compressor_t* inner;
};

sqfs_compressor_t* WrapShrinkOnly(sqfs_compressor_t* inner);

ShrinkOnly* Outer(const void* obj) { return reinterpret_cast<ShrinkOnly*>(const_cast<void*>(obj)); }

sqfs_compressor_t* WrapShrinkOnly(sqfs_compressor_t* inner) {
  auto* w = new ShrinkOnly{};
  w->inner = inner;
  w->iface.base.destroy = [](sqfs_object_t* obj) {
    sqfs_destroy(Outer(obj)->inner);
    delete Outer(obj);
  };
  w->iface.base.copy = [](const sqfs_object_t* obj) -> sqfs_object_t* {
    auto* copy = static_cast<sqfs_compressor_t*>(sqfs_copy(Outer(obj)->inner));
    return copy ? &WrapShrinkOnly(copy)->base : nullptr;
  };
  w->iface.get_configuration = [](const sqfs_compressor_t* c, sqfs_compressor_config_t* cfg) {
    Outer(c)->inner->get_configuration(Outer(c)->inner, cfg);
  };
  w->iface.write_options = [](sqfs_compressor_t* c, sqfs_file_t* f) {
    return Outer(c)->inner->write_options(Outer(c)->inner, f);
  };
  w->iface.read_options = [](sqfs_compressor_t* c, sqfs_file_t* f) {
    return Outer(c)->inner->read_options(Outer(c)->inner, f);
  };
  w->iface.do_block = [](sqfs_compressor_t* c, const sqfs_u8* in, sqfs_u32 size, sqfs_u8* out,
                         sqfs_u32 outsize) -> sqfs_s32 {
    sqfs_s32 n = Outer(c)->inner->do_block(Outer(c)->inner, in, size, out, outsize);
    return n > 0 && static_cast<sqfs_u32>(n) >= size ? 0 : n;
  };
  return &w->iface;
}

SQFS_COMPRESSOR CompressorId(Compressor c) {
  switch (c) {
    case Compressor::kXz:
      return SQFS_COMP_XZ;
    case Compressor::kLz4:
      return SQFS_COMP_LZ4;
    case Compressor::kGzip:
      return SQFS_COMP_GZIP;
    case Compressor::kZstd:
      break;
  }
  return SQFS_COMP_ZSTD;
}

Status CheckOptions(const WriteOptions& o) {
  uint32_t b = o.block_size;
  if (b < SQFS_MIN_BLOCK_SIZE || b > SQFS_MAX_BLOCK_SIZE || (b & (b - 1)) != 0)
    return Error{"squashfs block size " + std::to_string(b) +
                 " must be a power of two from 4096 to 1048576"};
  if (o.level == 0) return {};
  int lo = 0, hi = 0;
  switch (o.compressor) {
    case Compressor::kZstd:
      lo = SQFS_ZSTD_MIN_LEVEL, hi = SQFS_ZSTD_MAX_LEVEL;
      break;
    case Compressor::kXz:
      lo = SQFS_XZ_MIN_LEVEL, hi = SQFS_XZ_MAX_LEVEL;
      break;
    case Compressor::kGzip:
      lo = SQFS_GZIP_MIN_LEVEL, hi = SQFS_GZIP_MAX_LEVEL;
      break;
    case Compressor::kLz4:
      return Error{"lz4 has no compression levels (leave the level at 0)"};
  }
  if (o.level < lo || o.level > hi)
    return Error{std::string("compression level ") + std::to_string(o.level) +
                 " out of range for " + CompressorName(o.compressor) + " (" + std::to_string(lo) +
                 ".." + std::to_string(hi) + ")"};
  return {};
}

class Writer {
 public:
  explicit Writer(const WriteOptions& o) : o_(o), buf_(1 << 20) {}

  bool created = false;  // `out` was created (and must be removed on failure)

  Result<WriteStats> Run(const std::string& root, const std::string& out) {
    root_.path = root;
    if (lstat(root.c_str(), &root_.st) != 0) return ErrnoError("stat " + root);
    ApplyOwnerRecord(root, &root_.st);
    if (!S_ISDIR(root_.st.st_mode)) return Error{root + ": not a directory"};
    stats_.entries = 1;
    newest_ = Mtime(root_.st);
    if (auto st = Scan(&root_); !st) return st.take_error();
    Number(&root_);
    if (auto st = Open(out); !st) return st.take_error();
    if (auto st = WriteData(&root_); !st) return st.take_error();
    if (int rc = sqfs_block_processor_finish(proc_.get()))
      return SqfsError("compress the data of " + root, rc);
    if (o_.progress) o_.progress(done_, done_);  // files may have shrunk since the scan
    super_.inode_table_start = file_->get_size(file_.get());
    if (auto st = WriteTree(&root_); !st) return st.take_error();
    if (auto st = WriteTables(out); !st) return st.take_error();
    return std::move(stats_);
  }

 private:
  uint32_t Mtime(const struct stat& st) const {
    int64_t t = st.st_mtime;
    if (o_.source_date_epoch >= 0 && t > o_.source_date_epoch) t = o_.source_date_epoch;
    return static_cast<uint32_t>(std::clamp<int64_t>(t, 0, UINT32_MAX));
  }

  // Reads the tree into memory: every entry's metadata, hard links found, sizes summed.
  Status Scan(Node* dir) {
    auto names = ListDir(dir->path);
    if (!names) return names.take_error();
    for (auto& name : *names) {
      auto c = std::make_unique<Node>();
      c->path = dir->path + "/" + name;
      c->name = std::move(name);
      c->parent = dir;
      if (lstat(c->path.c_str(), &c->st) != 0) return ErrnoError("stat " + c->path);
      ApplyOwnerRecord(c->path, &c->st);  // the owner in the image (single-id mode)
      if (o_.overlay_layer && S_ISREG(c->st.st_mode) && c->st.st_size == 0 &&
          OverlayMark(c->path, "whiteout", nullptr)) {
        c->st.st_mode = S_IFCHR;  // the form the kernel's overlayfs reads in any layer
        c->st.st_rdev = 0;
        c->st.st_nlink = 1;
      }
      ++stats_.entries;
      newest_ = std::max(newest_, Mtime(c->st));
      if (S_ISDIR(c->st.st_mode)) {
        ++dir->subdirs;
        if (auto st = Scan(c.get()); !st) return st;
      } else if (c->st.st_nlink > 1) {
        auto [it, fresh] = links_.try_emplace({c->st.st_dev, c->st.st_ino}, c.get());
        if (!fresh) {
          c->first = it->second;
          ++it->second->nlink;
        }
      }
      if (!c->first && S_ISREG(c->st.st_mode)) total_ += static_cast<uint64_t>(c->st.st_size);
      dir->children.push_back(std::move(c));
    }
    return {};
  }

  // Inode numbers in the order the inodes are written: children before their directory, so the
  // root comes last; a hard link group takes the number where it is first met.
  void Number(Node* dir) {
    for (auto& c : dir->children) {
      if (S_ISDIR(c->st.st_mode))
        Number(c.get());
      else if (!c->first)
        c->inode_number = ++stats_.inodes;
    }
    dir->inode_number = ++stats_.inodes;
  }

  Status Open(const std::string& out) {
    sqfs_compressor_config_t cfg;
    SQFS_COMPRESSOR id = CompressorId(o_.compressor);
    if (int rc = sqfs_compressor_config_init(&cfg, id, o_.block_size, 0))
      return SqfsError("configure compressor", rc);
    if (o_.level > 0) cfg.level = static_cast<uint32_t>(o_.level);
    sqfs_compressor_t *cmp = nullptr, *uncmp = nullptr;
    if (int rc = sqfs_compressor_create(&cfg, &cmp))
      return SqfsError(std::string("create ") + CompressorName(o_.compressor) + " compressor", rc);
    cmp_.reset(WrapShrinkOnly(cmp));
    cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
    if (int rc = sqfs_compressor_create(&cfg, &uncmp)) return SqfsError("create decompressor", rc);
    uncmp_.reset(uncmp);

    file_.reset(sqfs_open_file(out.c_str(), SQFS_FILE_OPEN_OVERWRITE));
    if (!file_) return ErrnoError("create " + out);
    created = true;
    uint32_t mtime = o_.source_date_epoch >= 0 ? ClampEpoch() : newest_;
    if (int rc = sqfs_super_init(&super_, o_.block_size, mtime, id))
      return SqfsError("super block of " + out, rc);
    if (int rc = sqfs_super_write(&super_, file_.get())) return SqfsError("write " + out, rc);
    int rc = cmp_->write_options(cmp_.get(), file_.get());
    if (rc < 0) return SqfsError("write compressor options to " + out, rc);
    if (rc > 0) super_.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;

    wr_.reset(sqfs_block_writer_create(file_.get(), SQFS_DEVBLK_SIZE, 0));
    frags_.reset(sqfs_frag_table_create(0));
    ids_.reset(sqfs_id_table_create(0));
    xattrs_.reset(sqfs_xattr_writer_create(0));
    inodes_.reset(sqfs_meta_writer_create(file_.get(), cmp_.get(), 0));
    dirs_.reset(sqfs_meta_writer_create(file_.get(), cmp_.get(), SQFS_META_WRITER_KEEP_IN_MEMORY));
    if (!wr_ || !frags_ || !ids_ || !xattrs_ || !inodes_ || !dirs_)
      return SqfsError("set up writing " + out, SQFS_ERROR_ALLOC);
    listing_.reset(sqfs_dir_writer_create(dirs_.get(), 0));
    if (!listing_) return SqfsError("set up writing " + out, SQFS_ERROR_ALLOC);

    unsigned threads = o_.threads ? o_.threads : UsableCpus();
    sqfs_block_processor_desc_t desc{};
    desc.size = sizeof(desc);
    desc.max_block_size = o_.block_size;
    desc.num_workers = threads;
    desc.max_backlog = 10 * threads;
    desc.cmp = cmp_.get();
    desc.wr = wr_.get();
    desc.tbl = frags_.get();
    desc.file = file_.get();  // deduplicated fragments are compared byte for byte
    desc.uncmp = uncmp_.get();
    sqfs_block_processor_t* proc = nullptr;
    if (int rc = sqfs_block_processor_create_ex(&desc, &proc))
      return SqfsError("start " + std::to_string(threads) + " compression threads", rc);
    proc_.reset(proc);
    return {};
  }

  uint32_t ClampEpoch() const {
    return static_cast<uint32_t>(std::clamp<int64_t>(o_.source_date_epoch, 0, UINT32_MAX));
  }

  // File contents in tree order (depth first, sorted), each hard-linked file once.
  Status WriteData(Node* dir) {
    for (auto& c : dir->children) {
      Status st;
      if (S_ISDIR(c->st.st_mode))
        st = WriteData(c.get());
      else if (S_ISREG(c->st.st_mode) && !c->first)
        st = AddFile(c.get());
      if (!st) return st;
    }
    return {};
  }

  Status AddFile(Node* n) {
    UniqueFd fd(open(n->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
    if (!fd.valid()) return ErrnoError("open " + n->path);
    posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    if (int rc = sqfs_block_processor_begin_file(proc_.get(), &n->file_inode, nullptr, 0))
      return SqfsError("add " + n->path, rc);
    for (;;) {
      ssize_t got = read(fd.get(), buf_.data(), buf_.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoError("read " + n->path);
      if (got == 0) break;
      if (int rc = sqfs_block_processor_append(proc_.get(), buf_.data(), static_cast<size_t>(got)))
        return SqfsError("compress " + n->path, rc);
      done_ += static_cast<uint64_t>(got);
      stats_.bytes += static_cast<uint64_t>(got);
      if (o_.progress) o_.progress(done_, std::max(done_, total_));
    }
    if (int rc = sqfs_block_processor_end_file(proc_.get())) return SqfsError("add " + n->path, rc);
    return {};
  }

  // Inodes and directory listings, children first: a listing needs its entries' inode
  // locations, a directory inode needs its listing's.
  Status WriteTree(Node* dir) {
    for (auto& c : dir->children) {
      Status st;
      if (S_ISDIR(c->st.st_mode))
        st = WriteTree(c.get());
      else if (!c->first)
        st = WriteLeaf(c.get());
      if (!st) return st;
    }
    if (int rc = sqfs_dir_writer_begin(listing_.get(), 0))
      return SqfsError("list " + dir->path, rc);
    for (auto& c : dir->children) {
      const Node& in = c->inode();
      if (int rc = sqfs_dir_writer_add_entry(listing_.get(), c->name.c_str(), in.inode_number,
                                             in.inode_ref, static_cast<uint16_t>(in.st.st_mode)))
        return SqfsError("list " + c->path, rc);
    }
    if (int rc = sqfs_dir_writer_end(listing_.get())) return SqfsError("list " + dir->path, rc);
    auto xattr = XattrIndex(dir);
    if (!xattr) return xattr.take_error();
    uint32_t parent = dir->parent ? dir->parent->inode_number : 0;
    InodePtr inode(sqfs_dir_writer_create_inode(listing_.get(), 0, *xattr, parent), sqfs_free);
    if (!inode) return SqfsError("directory inode of " + dir->path, SQFS_ERROR_ALLOC);
    // libsquashfs adds the entry count to the link count it is given; a directory's links are
    // its own name, its "." and its subdirectories' "..".
    if (inode->base.type == SQFS_INODE_DIR)
      inode->data.dir.nlink = 2 + dir->subdirs;
    else
      inode->data.dir_ext.nlink = 2 + dir->subdirs;
    return WriteInode(dir, inode.get());
  }

  Status WriteLeaf(Node* n) {
    InodePtr inode(nullptr, std::free);
    switch (n->st.st_mode & S_IFMT) {
      case S_IFREG:
        inode = InodePtr(std::exchange(n->file_inode, nullptr), sqfs_free);
        break;
      case S_IFLNK: {
        std::string target(static_cast<size_t>(n->st.st_size) + 1, '\0');
        ssize_t len = readlink(n->path.c_str(), target.data(), target.size());
        if (len < 0) return ErrnoError("readlink " + n->path);
        inode = NewInode(SQFS_INODE_SLINK, static_cast<size_t>(len));
        if (inode) {
          inode->data.slink.target_size = static_cast<uint32_t>(len);
          std::memcpy(inode->extra, target.data(), static_cast<size_t>(len));
        }
        break;
      }
      case S_IFCHR:
      case S_IFBLK:
        inode = NewInode(S_ISCHR(n->st.st_mode) ? SQFS_INODE_CDEV : SQFS_INODE_BDEV, 0);
        if (inode) inode->data.dev.devno = EncodeDev(n->st.st_rdev);
        break;
      case S_IFIFO:
        inode = NewInode(SQFS_INODE_FIFO, 0);
        break;
      case S_IFSOCK:
        inode = NewInode(SQFS_INODE_SOCKET, 0);
        break;
      default:
        return Error{n->path + ": unknown file type"};
    }
    if (!inode) return SqfsError("inode of " + n->path, SQFS_ERROR_ALLOC);
    auto xattr = XattrIndex(n);
    if (!xattr) return xattr.take_error();
    if (int rc = sqfs_inode_set_xattr_index(inode.get(), *xattr))
      return SqfsError("xattrs of " + n->path, rc);
    SetLinkCount(inode.get(), n->nlink);
    return WriteInode(n, inode.get());
  }

  // The fields every inode has, then the inode itself into the inode table.
  Status WriteInode(Node* n, sqfs_inode_generic_t* inode) {
    inode->base.mode = static_cast<uint16_t>(n->st.st_mode);
    inode->base.mod_time = Mtime(n->st);
    inode->base.inode_number = n->inode_number;
    if (int rc = sqfs_id_table_id_to_index(ids_.get(), n->st.st_uid, &inode->base.uid_idx))
      return SqfsError("owner of " + n->path, rc);
    if (int rc = sqfs_id_table_id_to_index(ids_.get(), n->st.st_gid, &inode->base.gid_idx))
      return SqfsError("group of " + n->path, rc);
    sqfs_u64 block = 0;
    sqfs_u32 offset = 0;
    sqfs_meta_writer_get_position(inodes_.get(), &block, &offset);
    n->inode_ref = (block << 16) | offset;
    if (int rc = sqfs_meta_writer_write_inode(inodes_.get(), inode))
      return SqfsError("write the inode of " + n->path, rc);
    return {};
  }

  // True when `path` carries overlayfs' `user.overlay.NAME` or `trusted.overlay.NAME`, and
  // then its value in `value` (when given).
  static bool OverlayMark(const std::string& path, const char* name, std::string* value) {
    for (const char* ns : {"user.overlay.", "trusted.overlay."}) {
      char buf[16];
      ssize_t n = lgetxattr(path.c_str(), (std::string(ns) + name).c_str(), buf, sizeof buf);
      if (n < 0) continue;
      if (value) value->assign(buf, static_cast<size_t>(n));
      return true;
    }
    return false;
  }

  // The entry's xattrs as one set in the xattr table (identical sets are stored once).
  Result<uint32_t> XattrIndex(Node* n) {
    auto list = ReadXattrs(n->path);
    if (!list) return list.take_error();
    if (std::string v; o_.overlay_layer && S_ISDIR(n->st.st_mode) &&
                       OverlayMark(n->path, "opaque", &v) && v == "y") {
      Xattr opaque{"trusted.overlay.opaque", "y"};
      list->insert(std::lower_bound(list->begin(), list->end(), opaque,
                                    [](const Xattr& a, const Xattr& b) { return a.name < b.name; }),
                   opaque);
    }
    if (list->empty()) return kNoXattr;
    if (int rc = sqfs_xattr_writer_begin(xattrs_.get(), 0)) return SqfsError("xattrs", rc);
    for (const auto& x : *list) {
      int rc = sqfs_xattr_writer_add(xattrs_.get(), x.name.c_str(), x.value.data(), x.value.size());
      if (rc == SQFS_ERROR_UNSUPPORTED) {
        stats_.skipped_xattrs.push_back(n->path + ": " + x.name);
        continue;
      }
      if (rc) return SqfsError("xattr " + x.name + " of " + n->path, rc);
    }
    uint32_t index = kNoXattr;
    if (int rc = sqfs_xattr_writer_end(xattrs_.get(), &index))
      return SqfsError("xattrs of " + n->path, rc);
    return index;
  }

  // After the inodes: the directory table, then the fragment, id and xattr tables (the order
  // the kernel expects), the super block last.
  Status WriteTables(const std::string& out) {
    sqfs_file_t* f = file_.get();
    if (int rc = sqfs_meta_writer_flush(inodes_.get())) return SqfsError("write " + out, rc);
    super_.directory_table_start = f->get_size(f);
    if (int rc = sqfs_meta_writer_flush(dirs_.get())) return SqfsError("write " + out, rc);
    if (int rc = sqfs_meta_write_write_to_file(dirs_.get())) return SqfsError("write " + out, rc);
    if (int rc = sqfs_frag_table_write(frags_.get(), f, &super_, cmp_.get()))
      return SqfsError("write the fragment table of " + out, rc);
    if (int rc = sqfs_id_table_write(ids_.get(), f, &super_, cmp_.get()))
      return SqfsError("write the id table of " + out, rc);
    if (int rc = sqfs_xattr_writer_flush(xattrs_.get(), f, &super_, cmp_.get()))
      return SqfsError("write the xattr table of " + out, rc);
    super_.inode_count = stats_.inodes;
    super_.root_inode_ref = root_.inode_ref;
    super_.bytes_used = f->get_size(f);
    // Images are padded to 4 KiB so they can be used as block devices.
    uint64_t padded = (super_.bytes_used + 4095) / 4096 * 4096;
    if (int rc = f->truncate(f, padded)) return SqfsError("pad " + out, rc);
    if (int rc = sqfs_super_write(&super_, f)) return SqfsError("write " + out, rc);
    stats_.image_bytes = padded;
    return {};
  }

  const WriteOptions& o_;
  std::vector<char> buf_;
  Node root_;
  std::map<std::pair<dev_t, ino_t>, Node*> links_;
  uint32_t newest_ = 0;
  uint64_t total_ = 0, done_ = 0;
  WriteStats stats_;
  sqfs_super_t super_{};
  // Declared in the order they depend on each other; the block processor goes first.
  Obj<sqfs_compressor_t> cmp_, uncmp_;
  Obj<sqfs_file_t> file_;
  Obj<sqfs_block_writer_t> wr_;
  Obj<sqfs_frag_table_t> frags_;
  Obj<sqfs_id_table_t> ids_;
  Obj<sqfs_xattr_writer_t> xattrs_;
  Obj<sqfs_meta_writer_t> inodes_, dirs_;
  Obj<sqfs_dir_writer_t> listing_;
  Obj<sqfs_block_processor_t> proc_;
};

}  // namespace

Result<Compressor> ParseCompressor(const std::string& name) {
  for (auto c : {Compressor::kZstd, Compressor::kXz, Compressor::kLz4, Compressor::kGzip})
    if (name == CompressorName(c)) return c;
  return Error{"unknown squashfs compressor '" + name + "' (zstd, xz, lz4 or gzip)"};
}

const char* CompressorName(Compressor c) {
  switch (c) {
    case Compressor::kXz:
      return "xz";
    case Compressor::kLz4:
      return "lz4";
    case Compressor::kGzip:
      return "gzip";
    case Compressor::kZstd:
      break;
  }
  return "zstd";
}

Result<WriteStats> Write(const std::string& root, const std::string& out,
                         const WriteOptions& options) {
  if (auto st = CheckOptions(options); !st) return st.take_error();
  Writer w(options);
  auto r = w.Run(root, out);
  if (!r && w.created) unlink(out.c_str());
  return r;
}

}  // namespace imager::formats::squashfs
