// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_edit.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "base/fd.h"
#include "base/fs.h"
#include "base/strings.h"
#include "formats/iso.h"
#include "formats/iso_inspect.h"
#include "formats/iso_read.h"

extern char** environ;

namespace imager::formats::iso {
namespace {

constexpr uint64_t kMaxConfig = 1 << 20;
constexpr uint64_t kMaxEsp = 1ull << 30;
// mtools on a copy of an image: no checks of the FAT geometry, no user configuration.
const std::vector<std::string> kMtoolsEnv = {"MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null"};

// Runs the host tool argv (found in PATH, sbin added) with `env` added to ours; its standard
// output goes to the file `out` (or /dev/null), its standard error to `dir`/stderr, quoted in
// the error when it fails.
Status RunTool(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& dir, const std::string& out = "") {
  std::vector<std::string> envs = env;
  for (char** e = environ; *e; ++e)
    if (StartsWith(*e, "PATH="))
      envs.push_back(std::string(*e) + ":/usr/sbin:/sbin");
    else
      envs.emplace_back(*e);
  std::vector<char*> a, e;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  for (const auto& s : envs) e.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  e.push_back(nullptr);
  const std::string errors = dir + "/stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.empty() ? "/dev/null" : out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, errors.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // Child: the host tool, as the caller, reading and writing only the files named in argv.
  pid_t pid;
  int err = posix_spawnp(&pid, a[0], &actions, nullptr, a.data(), e.data());
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return ErrnoError("run " + argv[0] + " (is it installed? mtools, isomd5sum)", err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return ErrnoError("wait for " + argv[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  auto read = ReadFile(errors);
  std::string said = read ? *read : "";
  if (said.size() > 2000) said = "..." + said.substr(said.size() - 2000);
  return Error{Join(argv, " ") + ": " +
               (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                  : "signal " + std::to_string(WTERMSIG(status))) +
               (said.empty() ? "" : "\n" + std::string(Trim(said)))};
}

// A file the new image gets in place of (or beside) the input's: content, mode and owner.
struct Replacement {
  std::string host;  // the file in the work directory
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime = 0;
};

// The state of one edit: the input, its inspection, the work directory beside the output.
struct Job {
  const EditOptions& o;
  const Reader& reader;
  const Inspection& in;
  std::string work;
  int64_t epoch = 0;
  bootcfg::CmdlineEdit edit;
  std::map<std::string, Replacement> replace;  // path in the image -> new content
  std::string esp_partition;                   // the edited appended ESP ("" when in the tree)
  int esp_number = 0;
  EditReport report;
  int files = 0;

  std::string NewFile() { return work + "/f" + std::to_string(++files); }
};

Status SetTimes(const std::string& path, int64_t epoch) {
  struct timespec ts[2] = {{epoch, 0}, {epoch, 0}};
  if (utimensat(AT_FDCWD, path.c_str(), ts, 0) != 0) return ErrnoError("set times of " + path);
  return {};
}

bool IsGrubConfig(const std::string& path) {
  std::string p = path;
  for (auto& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p.ends_with(".cfg") &&
         (p.find("/grub") != std::string::npos || p.find("/efi/") != std::string::npos);
}

// The configurations on the medium: *.cfg in isolinux/ and syslinux/ (isolinux syntax), in
// boot/grub/, boot/grub2/ and EFI/BOOT/ (GRUB syntax).
std::vector<std::pair<std::string, bootcfg::Syntax>> FindConfigs(const Reader& r) {
  std::vector<std::pair<std::string, bootcfg::Syntax>> found;
  for (const char* dir : {"/isolinux", "/syslinux", "/boot/grub", "/boot/grub2", "/EFI/BOOT",
                          "/EFI/boot", "/efi/boot"}) {
    auto list = r.List(dir);
    if (!list) continue;
    for (const auto& e : *list) {
      if (!e.IsRegular() || !e.name.ends_with(".cfg")) continue;
      found.emplace_back(
          e.path, IsGrubConfig(e.path) ? bootcfg::Syntax::kGrub : bootcfg::Syntax::kSyslinux);
    }
  }
  return found;
}

// Edits the text of `name`; "" when nothing changed.
Result<std::string> EditText(Job& j, const std::string& text, bootcfg::Syntax syntax,
                             const std::string& name) {
  auto r = bootcfg::Edit(text, syntax, j.edit, name);
  if (!r) return r.take_error();
  j.report.kernel_lines += r->kernel_lines;
  if (r->text == text) return std::string();
  j.report.edited.push_back(name + " (" + std::to_string(r->kernel_lines) + " kernel lines)");
  return r->text;
}

Status EditMediumConfigs(Job& j) {
  for (const auto& [path, syntax] : FindConfigs(j.reader)) {
    auto entry = j.reader.Stat(path);
    if (!entry) return entry.take_error();
    auto text = j.reader.ReadSmall(path, kMaxConfig);
    if (!text) return text.take_error();
    auto edited = EditText(j, *text, syntax, path);
    if (!edited) return edited.take_error();
    if (edited->empty()) continue;
    Replacement rep{j.NewFile(), entry->mode & 07777, entry->uid, entry->gid, j.epoch};
    if (auto st = WriteFile(rep.host, *edited); !st) return st;
    if (auto st = SetTimes(rep.host, j.epoch); !st) return st;
    j.replace[path] = rep;
  }
  return {};
}

Status CopyEsp(Job& j, const std::string& dest) {
  return CopyEspImage(j.reader, j.in, j.o.input, dest, &j.esp_number);
}

// The grub.cfg files (any *.cfg of GRUB's) in the ESP's FAT image, edited in place with mtools
// on a copy of the image.
Status EditEsp(Job& j) {
  if (j.in.esp_image.empty()) return {};
  const std::string img = j.NewFile() + ".img";
  if (auto st = CopyEsp(j, img); !st) return st;
  auto configs = ListEspConfigs(img, j.in.esp_image, j.work);
  if (!configs) return configs.take_error();
  bool changed = false;
  for (const auto& path : *configs) {
    const std::string fat = "::" + path;
    const std::string local = j.NewFile();
    if (auto st = RunTool({"mcopy", "-n", "-i", img, fat, local}, kMtoolsEnv, j.work); !st)
      return st;
    auto text = ReadFile(local);
    if (!text) return text.take_error();
    auto edited = EditText(j, *text, bootcfg::Syntax::kGrub, j.in.esp_image + ":" + fat.substr(2));
    if (!edited) return edited.take_error();
    if (edited->empty()) continue;
    if (auto st = WriteFile(local, *edited); !st) return st;
    if (auto st = SetTimes(local, j.epoch); !st) return st;
    if (auto st = RunTool({"mcopy", "-o", "-m", "-i", img, local, fat}, kMtoolsEnv, j.work); !st)
      return st;
    changed = true;
  }
  if (!changed) return {};
  if (j.esp_number != 0) {
    j.esp_partition = img;
    return {};
  }
  auto e = j.reader.Stat(j.in.esp_image);
  if (!e) return e.take_error();
  if (auto st = SetTimes(img, e->mtime); !st) return st;
  j.replace[j.in.esp_image] = {img, e->mode & 07777, e->uid, e->gid, e->mtime};
  return {};
}

// `src` on the host and, for a directory, what is below it, as new files at `dst`: the host's
// permissions, owners 0:0, times `epoch`.
Status AddHostTree(const std::string& src, const std::string& dst, int64_t epoch,
                   std::vector<NewFile>* out) {
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) return ErrnoError("--add " + src);
  out->push_back({src, dst, st.st_mode & 07777, 0, 0, epoch});
  if (!S_ISDIR(st.st_mode)) return {};
  auto names = ListDir(src);
  if (!names) return names.take_error();
  for (const auto& n : *names)
    if (auto r = AddHostTree(src + "/" + n, dst + "/" + n, epoch, out); !r) return r;
  return {};
}

// What turns the input into the output: removals, new files, an edited appended ESP.
Result<RewriteOptions> MakeRewrite(const Job& j, const std::string& out, const std::string& uuid) {
  RewriteOptions r{.input = j.o.input,
                   .output = out,
                   .volume_id = j.o.volume_id,
                   .volume_uuid = uuid,
                   .source_date_epoch = j.epoch,
                   .remove = j.o.remove,
                   .esp_partition = j.esp_partition.empty() ? 0 : j.esp_number,
                   .esp_image = j.esp_partition};
  for (const auto& [src, dst] : j.o.add) {
    auto abs = Canonical(src);
    if (!abs) return Error{"--add " + src + ": " + abs.error()};
    if (auto st = AddHostTree(*abs, dst, j.epoch, &r.files); !st) return st.take_error();
  }
  for (const auto& [path, rep] : j.replace)
    r.files.push_back({rep.host, path, rep.mode, rep.uid, rep.gid, rep.mtime});
  return r;
}

Status CheckOptions(const EditOptions& o, const Reader& r, const Inspection& in) {
  if (!o.kickstart.empty() && in.layout != "anaconda")
    return Error{o.input + ": --kickstart needs an Anaconda/lorax medium (/.treeinfo, or " +
                 "/images/efiboot.img with /isolinux); this one's layout is " + in.layout};
  for (const auto& p : o.remove)
    if (auto e = r.Stat(p); !e) return Error{"--remove " + p + ": " + e.error()};
  for (const auto& [src, dst] : o.add) {
    struct stat st;
    if (lstat(src.c_str(), &st) != 0) return ErrnoError("--add " + src);
    if (!StartsWith(dst, "/") || dst == "/" || ("/" + dst + "/").find("/../") != std::string::npos)
      return Error{"--add " + src + ":" + dst + ": not an absolute path in the image below /"};
  }
  if (!o.volume_id.empty() && o.volume_id.size() > 32)
    return Error{"--volid " + o.volume_id + ": longer than 32 characters"};
  return {};
}

Result<EditReport> Run(Job& j, const std::string& pvd) {
  auto [uuid, modified] = VolumeDate(pvd.substr(830, 17));
  j.epoch = j.o.source_date_epoch >= 0 ? j.o.source_date_epoch : std::max<int64_t>(modified, 0);
  const std::string new_id = j.o.volume_id.empty() ? j.in.volume_id : j.o.volume_id;
  j.edit = {.remove = j.o.cmdline_remove, .add = j.o.cmdline_add};
  j.edit.old_label = j.in.volume_id;
  j.edit.new_label = new_id;
  if (!j.o.kickstart.empty()) {
    j.edit.remove.push_back("inst.ks");
    j.edit.add.push_back("inst.ks=hd:LABEL=" + bootcfg::EscapeLabel(new_id) + ":/ks.cfg");
    auto ks = ReadFile(j.o.kickstart);
    if (!ks) return ks.take_error();
    Replacement rep{j.NewFile(), 0644, 0, 0, j.epoch};
    if (auto st = WriteFile(rep.host, *ks); !st) return st.take_error();
    if (auto st = SetTimes(rep.host, j.epoch); !st) return st.take_error();
    j.replace["/ks.cfg"] = rep;
  }
  if (auto st = EditMediumConfigs(j); !st) return st.take_error();
  if (auto st = EditEsp(j); !st) return st.take_error();
  if (!j.edit.add.empty() && j.report.kernel_lines == 0)
    return Error{j.o.input + ": no kernel line in its boot configurations (" +
                 (j.in.boot_configs.empty() ? "none found" : Join(j.in.boot_configs, " ")) + ")"};
  const std::string out = j.work + "/out.iso";
  auto rewrite = MakeRewrite(j, out, uuid);
  if (!rewrite) return rewrite.take_error();
  if (auto w = Rewrite(*rewrite); !w) return w.take_error();
  for (const auto& c : j.in.checksums)
    if (c.kind == "isomd5sum") {
      if (auto st = RunTool({"implantisomd5", "--force", out}, {}, j.work); !st)
        return st.take_error();
      j.report.md5_implanted = true;
    }
  if (rename(out.c_str(), j.o.output.c_str()) != 0)
    return ErrnoError("rename " + out + " to " + j.o.output);
  return j.report;
}

}  // namespace

std::pair<std::string, int64_t> VolumeDate(std::string_view f) {
  if (f.size() < 17) return {"", -1};
  for (size_t i = 0; i < 16; ++i)
    if (!std::isdigit(static_cast<unsigned char>(f[i]))) return {"", -1};
  std::string digits(f.substr(0, 16));
  if (digits == std::string(16, '0')) return {"", -1};
  auto num = [&](size_t at, size_t n) { return std::stoi(digits.substr(at, n)); };
  struct tm tm = {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(8, 2);
  tm.tm_min = num(10, 2);
  tm.tm_sec = num(12, 2);
  int64_t t = timegm(&tm) - int64_t{static_cast<int8_t>(f[16])} * 15 * 60;
  return {digits, t};
}

Status CopyEspImage(const Reader& reader, const Inspection& in, const std::string& iso,
                    const std::string& dest, int* partition) {
  UniqueFd fd(open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoError("create " + dest);
  auto sink = [&](std::string_view s) -> Status {
    if (!WriteAll(fd.get(), s.data(), s.size())) return ErrnoError("write " + dest);
    return {};
  };
  if (!StartsWith(in.esp_image, "appended partition ")) {
    auto e = reader.Stat(in.esp_image);
    if (!e) return e.take_error();
    if (e->size > kMaxEsp) return Error{in.esp_image + ": larger than 1 GiB: not an ESP"};
    return reader.Read(*e, sink);
  }
  int number = std::stoi(in.esp_image.substr(strlen("appended partition ")));
  if (partition) *partition = number;
  const Partition* part = nullptr;
  for (const auto* table : {&in.gpt, &in.mbr})
    for (const auto& p : *table)
      if (p.number == number && !part) part = &p;
  if (!part) return Error{iso + ": no partition " + std::to_string(number)};
  uint64_t off = part->start * 512, left = part->sectors * 512;
  if (left > kMaxEsp) return Error{iso + ": the ESP partition is larger than 1 GiB"};
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, 1 << 20));
    auto chunk = reader.ReadAt(off, n);
    if (!chunk) return chunk.take_error();
    if (auto st = sink(*chunk); !st) return st;
    off += n;
    left -= n;
  }
  return {};
}

Result<std::vector<std::string>> ListEspConfigs(const std::string& image, const std::string& shown,
                                                const std::string& work) {
  const std::string list = work + "/mdir";
  if (auto st = RunTool({"mdir", "-/", "-b", "-i", image, "::/"}, kMtoolsEnv, work, list); !st)
    return Error{"list the ESP image " + shown + ": " + st.error()};
  auto names = ReadFile(list);
  if (!names) return names.take_error();
  std::vector<std::string> out;
  for (const auto& raw : Split(*names, '\n')) {
    std::string fat(Trim(raw));
    if (StartsWith(fat, "::/") && !fat.ends_with("/") && IsGrubConfig(fat.substr(2)))
      out.push_back(fat.substr(2));
  }
  return out;
}

Result<EditReport> Edit(const EditOptions& o) {
  auto reader = Reader::Open(o.input);
  if (!reader) return reader.take_error();
  auto in = Inspect(**reader, {.verify = false});
  if (!in) return in.take_error();
  if (auto st = CheckOptions(o, **reader, *in); !st) return st.take_error();
  auto pvd = (*reader)->ReadAt(16 * kSectorSize, kSectorSize);
  if (!pvd) return pvd.take_error();
  size_t slash = o.output.rfind('/');
  std::string dir = slash == std::string::npos ? "." : o.output.substr(0, slash);
  if (dir.empty()) dir = "/";
  // Beside the output, so the finished image is renamed into place.
  auto work = MakeTempDir(dir, ".imager-iso-edit-");
  if (!work) return work.take_error();
  auto abs = Canonical(*work);  // libisofs wants absolute host paths
  if (!abs) {
    (void)RemoveTree(*work);
    return abs.take_error();
  }
  Job j{.o = o, .reader = **reader, .in = *in, .work = *abs};
  auto r = Run(j, *pvd);
  if (auto st = RemoveTree(*work); !st && r) return st.take_error();
  return r;
}

}  // namespace imager::formats::iso
