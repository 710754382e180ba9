// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/layers.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/fs.h"
#include "oci/layout.h"
#include "oci/unpack.h"

namespace imager::oci {
namespace {

class LayersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-oci-layers-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    // The lower layer: etc/{keep,gone}, data/{old1,old2}, dev/.
    lower_ = dir_ + "/lower";
    for (const char* d2 : {"/etc", "/data", "/dev"}) ASSERT_TRUE(MakeDirs(lower_ + d2));
    for (const char* f : {"/etc/keep", "/etc/gone", "/data/old1", "/data/old2"})
      ASSERT_TRUE(WriteFile(lower_ + f, f));
    // The upper layer, as overlayfs (userxattr) leaves it: etc/gone deleted, data/ replaced.
    upper_ = dir_ + "/upper";
    ASSERT_TRUE(MakeDirs(upper_ + "/etc"));
    ASSERT_TRUE(MakeDirs(upper_ + "/data"));
    ASSERT_TRUE(WriteFile(upper_ + "/etc/gone", ""));
    xattrs_ = setxattr((upper_ + "/etc/gone").c_str(), "user.overlay.whiteout", "", 0, 0) == 0 &&
              setxattr((upper_ + "/data").c_str(), "user.overlay.opaque", "y", 1, 0) == 0;
    ASSERT_TRUE(WriteFile(upper_ + "/data/new", "new"));
    ASSERT_TRUE(MakeDirs(dir_ + "/out"));
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  std::string dir_, lower_, upper_;
  bool xattrs_ = false;
};

TEST_F(LayersTest, PipelineLayersUnpackToTheMergedTree) {
  if (!xattrs_) GTEST_SKIP() << "no user xattrs on /tmp";
  auto files = WriteLayers({lower_, upper_}, dir_ + "/out", {.source_date_epoch = 100});
  ASSERT_TRUE(files) << files.error();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].path, dir_ + "/out/layer-0.tar.gz");
  EXPECT_EQ((*files)[0].whiteouts, 0u);
  EXPECT_EQ((*files)[1].whiteouts, 2u);  // etc/.wh.gone and data/.wh..wh..opq
  std::string dest = dir_ + "/dest";
  ASSERT_TRUE(MakeDirs(dest));
  for (const auto& f : *files) {
    auto r = ApplyLayer(f.path, f.path, dest);
    ASSERT_TRUE(r) << r.error();
  }
  EXPECT_EQ(access((dest + "/etc/keep").c_str(), F_OK), 0);
  EXPECT_NE(access((dest + "/etc/gone").c_str(), F_OK), 0) << "whiteout not applied";
  EXPECT_NE(access((dest + "/data/old1").c_str(), F_OK), 0) << "opaque directory not emptied";
  EXPECT_EQ(*ReadFile(dest + "/data/new"), "new");
  EXPECT_EQ(access((dest + "/etc/.wh.gone").c_str(), F_OK), -1);
}

TEST_F(LayersTest, ZstdLayersAreDeterministicAndReadable) {
  LayerWriteOptions o{.compression = Compression::kZstd, .source_date_epoch = 100};
  ASSERT_TRUE(MakeDirs(dir_ + "/out2"));
  auto a = WriteLayers({lower_}, dir_ + "/out", o);
  ASSERT_TRUE(a) << a.error();
  auto b = WriteLayers({lower_}, dir_ + "/out2", o);
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ((*a)[0].path, dir_ + "/out/layer-0.tar.zst");
  EXPECT_EQ(*ReadFile((*a)[0].path), *ReadFile((*b)[0].path));
  EXPECT_EQ(ReadFile((*a)[0].path)->substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  // The lowest layer with a /dev gets the standard nodes, as a squashed tar would.
  EXPECT_GT((*a)[0].entries, 10u);
  // A layout of zstd layers reads back with verified diff_ids.
  WriteOptions w;
  w.config.platform = {"amd64", ""};
  w.layer_media_type = LayerMediaType(Compression::kZstd);
  w.history = {"imager build: base"};
  auto m = Write(dir_ + "/layout", {(*a)[0].path}, w);
  ASSERT_TRUE(m) << m.error();
  auto image = Read(dir_ + "/layout", "latest");
  ASSERT_TRUE(image) << image.error();
  ASSERT_EQ(image->layers.size(), 1u);
  EXPECT_EQ(image->layers[0].media_type, kMediaTypeLayerZstd);
  std::string dest = dir_ + "/dest";
  ASSERT_TRUE(MakeDirs(dest));
  auto r = Unpack(*image, dest);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*ReadFile(dest + "/etc/keep"), "/etc/keep");
}

TEST_F(LayersTest, UnknownCompressionIsNamed) {
  auto c = ParseCompression("xz");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), "unknown layer compression 'xz' (allowed: gzip, zstd)");
}

}  // namespace
}  // namespace imager::oci
