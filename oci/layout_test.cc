// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/layout.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "formats/tar.h"

namespace imager::oci {
namespace {

using Json = nlohmann::json;

class LayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-oci-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    root_ = dir_ + "/root";
    ASSERT_TRUE(MakeDirs(root_ + "/etc"));
    ASSERT_TRUE(WriteFile(root_ + "/etc/hostname", "oci\n"));
    options_.config.platform = {"amd64", ""};
    options_.config.created = 1700000000;
    options_.config.cmd = {"/bin/sh"};
    options_.annotations["org.opencontainers.image.title"] = "demo";
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  // A gzip'd layer of root_ at dir_/NAME.
  std::string Layer(const std::string& name) {
    std::string out = dir_ + "/" + name;
    formats::tar::WriteOptions o;
    o.source_date_epoch = 1700000000;
    o.dev_nodes = false;
    auto r = formats::tar::Write(root_, out, o);
    EXPECT_TRUE(r) << r.error();
    return out;
  }

  std::string WriteLayout(const std::string& name) {
    std::string layout = dir_ + "/" + name;
    auto m = Write(layout, {Layer(name + ".tar.gz")}, options_);
    EXPECT_TRUE(m) << m.error();
    return layout;
  }

  Json ReadJson(const std::string& path) {
    auto text = ReadFile(path);
    EXPECT_TRUE(text) << text.error();
    return Json::parse(*text);
  }

  // Stores `j` as a blob of `layout`; returns its descriptor as JSON.
  Json PutJson(const std::string& layout, const Json& j, const std::string& media_type) {
    std::string text = j.dump();
    std::string digest = "sha256:" + Sha256Hex(text);
    EXPECT_TRUE(WriteFile(BlobPath(layout, digest), text));
    return Json{{"mediaType", media_type}, {"digest", digest}, {"size", text.size()}};
  }

  // Rewrites the manifest of `layout` through `edit` (config or layers), re-pointing index.json.
  template <typename F>
  void EditManifest(const std::string& layout, F&& edit) {
    Json index = ReadJson(layout + "/index.json");
    Json m = ReadJson(BlobPath(layout, index["manifests"][0]["digest"]));
    edit(layout, m);
    Json d = PutJson(layout, m, kMediaTypeManifest);
    d["annotations"] = index["manifests"][0]["annotations"];
    index["manifests"][0] = d;
    ASSERT_TRUE(WriteFile(layout + "/index.json", index.dump()));
  }

  std::string ReadError(const std::string& layout, const std::string& tag = "") {
    auto r = Read(layout, tag);
    EXPECT_FALSE(r);
    return r ? "" : r.error();
  }

  std::string dir_, root_;
  WriteOptions options_;
};

TEST_F(LayoutTest, WritesSpecFilesAndReadsThemBack) {
  std::string layout = WriteLayout("img");
  EXPECT_EQ(ReadJson(layout + "/oci-layout")["imageLayoutVersion"], "1.0.0");
  Json index = ReadJson(layout + "/index.json");
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_EQ(index["manifests"][0]["annotations"][kRefNameAnnotation], "latest");
  auto image = Read(layout, "latest");
  ASSERT_TRUE(image) << image.error();
  EXPECT_EQ(image->config.platform.architecture, "amd64");
  EXPECT_EQ(image->config.os, "linux");
  EXPECT_EQ(image->config.cmd, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(image->config.created, 1700000000);
  ASSERT_EQ(image->layers.size(), 1u);
  EXPECT_EQ(image->layers[0].media_type, kMediaTypeLayerGzip);
  ASSERT_EQ(image->config.diff_ids.size(), 1u);
  // The diff_id is the sha256 of the uncompressed tar, not of the blob.
  EXPECT_NE(image->config.diff_ids[0], image->layers[0].digest);
  Json config = ReadJson(BlobPath(
      layout, ReadJson(BlobPath(layout, index["manifests"][0]["digest"]))["config"]["digest"]));
  EXPECT_EQ(config["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(config["rootfs"]["type"], "layers");
  // No temporary files left behind; the layer file moved into the blob store.
  auto blobs = ListDir(layout + "/blobs/sha256");
  ASSERT_TRUE(blobs);
  EXPECT_EQ(blobs->size(), 3u);  // layer, config, manifest
  EXPECT_NE(access((dir_ + "/img.tar.gz").c_str(), F_OK), 0);
}

TEST(Rfc3339Test, ParsesWhatImagesWrite) {
  EXPECT_EQ(ParseRfc3339(Rfc3339(1700000000)), 1700000000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.123456789Z"), 1700000000);
  EXPECT_EQ(ParseRfc3339("2023-11-15T00:13:20+02:00"), 1700000000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T21:13:20-01:00"), 1700000000);
  EXPECT_EQ(ParseRfc3339("2023-11-14"), -1);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20"), -1);  // no zone
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20Zjunk"), -1);
  EXPECT_EQ(ParseRfc3339(""), -1);
}

TEST_F(LayoutTest, SameInputsGiveSameManifestDigest) {
  auto a = Write(dir_ + "/a", {Layer("a.tar.gz")}, options_);
  auto b = Write(dir_ + "/b", {Layer("b.tar.gz")}, options_);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->digest, b->digest);
  options_.config.created = 1700000001;
  auto c = Write(dir_ + "/c", {Layer("c.tar.gz")}, options_);
  ASSERT_TRUE(c);
  EXPECT_NE(a->digest, c->digest);
}

TEST_F(LayoutTest, RefusesExistingDirectory) {
  ASSERT_EQ(mkdir((dir_ + "/x").c_str(), 0755), 0);
  auto r = Write(dir_ + "/x", {Layer("x.tar.gz")}, options_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find(dir_ + "/x"), std::string::npos) << r.error();
}

TEST_F(LayoutTest, MissingIndexJson) {
  std::string layout = WriteLayout("img");
  ASSERT_EQ(unlink((layout + "/index.json").c_str()), 0);
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("index.json"), std::string::npos) << e;
  EXPECT_FALSE(ResolveTag(layout, ""));
}

TEST_F(LayoutTest, UnknownTagListsTags) {
  std::string layout = WriteLayout("img");
  std::string e = ReadError(layout, "v2");
  EXPECT_NE(e.find("no manifest tagged 'v2' (tags: latest)"), std::string::npos) << e;
}

TEST_F(LayoutTest, TamperedLayerNamesTheBlob) {
  std::string layout = WriteLayout("img");
  auto image = Read(layout, "");
  ASSERT_TRUE(image) << image.error();
  std::string blob = BlobPath(layout, image->layers[0].digest);
  auto data = ReadFile(blob);
  ASSERT_TRUE(data);
  (*data)[data->size() / 2] ^= 0x01;  // same size, different content
  ASSERT_TRUE(WriteFile(blob, *data));
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("layer " + image->layers[0].digest + ": digest mismatch"), std::string::npos)
      << e;
}

TEST_F(LayoutTest, MissingBlobNamesTheBlob) {
  std::string layout = WriteLayout("img");
  auto image = Read(layout, "");
  ASSERT_TRUE(image) << image.error();
  ASSERT_EQ(unlink(BlobPath(layout, image->layers[0].digest).c_str()), 0);
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("layer " + image->layers[0].digest + ": missing blob"), std::string::npos) << e;
}

TEST_F(LayoutTest, TamperedManifestIsCaught) {
  std::string layout = WriteLayout("img");
  Json index = ReadJson(layout + "/index.json");
  std::string digest = index["manifests"][0]["digest"];
  std::string path = BlobPath(layout, digest);
  auto data = ReadFile(path);
  ASSERT_TRUE(data);
  ASSERT_TRUE(WriteFile(path, std::string(data->size(), ' ')));
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("manifest " + digest + ": digest mismatch"), std::string::npos) << e;
}

TEST_F(LayoutTest, UnknownLayerMediaType) {
  std::string layout = WriteLayout("img");
  EditManifest(layout, [](const std::string&, Json& m) {
    m["layers"][0]["mediaType"] = "application/x-unknown";
  });
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("has unknown media type 'application/x-unknown'"), std::string::npos) << e;
  EXPECT_NE(e.find("layer sha256:"), std::string::npos) << e;
}

TEST_F(LayoutTest, UnknownConfigMediaType) {
  std::string layout = WriteLayout("img");
  EditManifest(layout, [](const std::string&, Json& m) {
    m["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json";
  });
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("config sha256:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown media type"), std::string::npos) << e;
}

TEST_F(LayoutTest, UnsupportedArchitecture) {
  std::string layout = WriteLayout("img");
  EditManifest(layout, [this](const std::string& l, Json& m) {
    Json c = ReadJson(BlobPath(l, m["config"]["digest"]));
    c["architecture"] = "vax";
    m["config"] = PutJson(l, c, kMediaTypeConfig);
  });
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("architecture 'vax' is not supported"), std::string::npos) << e;
  EXPECT_NE(e.find("config sha256:"), std::string::npos) << e;
}

TEST_F(LayoutTest, WrongDiffIdIsCaught) {
  std::string layout = WriteLayout("img");
  EditManifest(layout, [this](const std::string& l, Json& m) {
    Json c = ReadJson(BlobPath(l, m["config"]["digest"]));
    c["rootfs"]["diff_ids"][0] = "sha256:" + std::string(64, '0');
    m["config"] = PutJson(l, c, kMediaTypeConfig);
  });
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("says diff_id sha256:000"), std::string::npos) << e;
}

TEST_F(LayoutTest, MalformedDigestDoesNotEscapeTheLayout) {
  std::string layout = WriteLayout("img");
  EditManifest(layout, [](const std::string&, Json& m) {
    m["layers"][0]["digest"] = "sha256:../../../etc/passwd";
  });
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("malformed digest 'sha256:../../../etc/passwd'"), std::string::npos) << e;
}

TEST_F(LayoutTest, NestedIndexIsRefused) {
  std::string layout = WriteLayout("img");
  Json index = ReadJson(layout + "/index.json");
  index["manifests"][0]["mediaType"] = kMediaTypeIndex;
  ASSERT_TRUE(WriteFile(layout + "/index.json", index.dump()));
  std::string e = ReadError(layout);
  EXPECT_NE(e.find("no nested indexes"), std::string::npos) << e;
}

TEST(OciPlatformTest, DebianAndRpmArchitectures) {
  EXPECT_EQ(PlatformOf("amd64")->architecture, "amd64");
  EXPECT_EQ(PlatformOf("x86_64")->architecture, "amd64");
  EXPECT_EQ(PlatformOf("i386")->architecture, "386");
  EXPECT_EQ(PlatformOf("arm64")->variant, "v8");
  EXPECT_EQ(PlatformOf("armhf")->architecture, "arm");
  EXPECT_EQ(PlatformOf("ppc64el")->architecture, "ppc64le");
  auto bad = PlatformOf("hurd-i386");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("'hurd-i386'"), std::string::npos);
}

TEST(OciReferenceTest, SplitsTagOnlyWhenThePathAloneExists) {
  std::string path, tag;
  SplitReference("/tmp:v1", &path, &tag);
  EXPECT_EQ(path, "/tmp");
  EXPECT_EQ(tag, "v1");
  SplitReference("/tmp", &path, &tag);
  EXPECT_EQ(path, "/tmp");
  EXPECT_EQ(tag, "");
  SplitReference("/a:b/c", &path, &tag);
  EXPECT_EQ(path, "/a:b/c");
  EXPECT_EQ(tag, "");
}

TEST(OciDigestTest, OnlySha256Hex) {
  EXPECT_TRUE(ValidDigest("sha256:" + std::string(64, 'a')));
  EXPECT_FALSE(ValidDigest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(ValidDigest("sha512:" + std::string(64, 'a')));
  EXPECT_FALSE(ValidDigest("sha256:" + std::string(63, 'a')));
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace imager::oci
