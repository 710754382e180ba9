// SPDX-License-Identifier: GPL-3.0-or-later
// registry_probe: drives oci::RegistryClient from the command line for
// tests/network/registry_client.sh, one operation per invocation.
//   registry_probe [--tls-verify=false] [--ca-file=F] [--auth-file=F] REF COMMAND ARGS...
//     has-blob DIGEST                          prints "yes" or "no"
//     push-blob FILE [FROM_REPOSITORY]         prints "present|mounted|uploaded DIGEST"
//     pull-blob DIGEST DEST [SIZE]
//     put-manifest FILE MEDIA_TYPE [REFERENCE] prints the digest; REFERENCE: REF's tag
//     get-manifest REFERENCE [OUT]             prints "MEDIA_TYPE DIGEST" or "absent"
//     tags                                     prints one tag a line
// Exits 0 on success, 1 with "registry_probe: ERROR" on stderr, 2 on bad usage.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "oci/registry.h"

namespace {

using imager::Result;
using imager::oci::RegistryClient;

int Usage() {
  std::fprintf(stderr,
               "usage: registry_probe [--tls-verify=false] [--ca-file=F] [--auth-file=F] REF "
               "has-blob|push-blob|pull-blob|put-manifest|get-manifest|tags ARGS...\n");
  return 2;
}

int Fail(const std::string& error) {
  std::fprintf(stderr, "registry_probe: %s\n", error.c_str());
  return 1;
}

int Run(RegistryClient& c, const std::string& cmd, const std::vector<std::string>& a) {
  if (cmd == "has-blob" && a.size() == 1) {
    auto has = c.HasBlob(a[0]);
    if (!has) return Fail(has.error());
    std::printf("%s\n", *has ? "yes" : "no");
  } else if (cmd == "push-blob" && (a.size() == 1 || a.size() == 2)) {
    auto sha = imager::Sha256File(a[0]);
    if (!sha) return Fail(sha.error());
    struct stat st;
    if (::stat(a[0].c_str(), &st) != 0) return Fail("stat " + a[0]);
    std::string digest = "sha256:" + *sha;
    auto pushed = c.PushBlob(a[0], digest, st.st_size, a.size() == 2 ? a[1] : "");
    if (!pushed) return Fail(pushed.error());
    const char* how[] = {"present", "mounted", "uploaded"};
    std::printf("%s %s\n", how[static_cast<int>(*pushed)], digest.c_str());
  } else if (cmd == "pull-blob" && (a.size() == 2 || a.size() == 3)) {
    auto st = c.PullBlob(a[0], a[1], a.size() == 3 ? std::atoll(a[2].c_str()) : -1);
    if (!st) return Fail(st.error());
  } else if (cmd == "put-manifest" && (a.size() == 2 || a.size() == 3)) {
    auto body = imager::ReadFile(a[0]);
    if (!body) return Fail(body.error());
    auto digest = c.PutManifest(a.size() == 3 ? a[2] : c.ref().tag, {a[1], "", *body});
    if (!digest) return Fail(digest.error());
    std::printf("%s\n", digest->c_str());
  } else if (cmd == "get-manifest" && (a.size() == 1 || a.size() == 2)) {
    auto m = c.GetManifest(a[0]);
    if (!m) return Fail(m.error());
    if (!*m) {
      std::printf("absent\n");
      return 0;
    }
    if (a.size() == 2)
      if (auto st = imager::WriteFile(a[1], (*m)->body); !st) return Fail(st.error());
    std::printf("%s %s\n", (*m)->media_type.c_str(), (*m)->digest.c_str());
  } else if (cmd == "tags" && a.empty()) {
    auto tags = c.ListTags();
    if (!tags) return Fail(tags.error());
    for (const std::string& t : *tags) std::printf("%s\n", t.c_str());
  } else {
    return Usage();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  imager::oci::RegistryOptions options;
  options.retry_delay_ms = 100;
  int i = 1;
  for (; i < argc && imager::StartsWith(argv[i], "--"); ++i) {
    std::string arg = argv[i];
    if (arg == "--tls-verify=false")
      options.tls_verify = false;
    else if (imager::StartsWith(arg, "--ca-file="))
      options.ca_file = arg.substr(10);
    else if (imager::StartsWith(arg, "--auth-file="))
      options.auth_file = arg.substr(12);
    else
      return Usage();
  }
  if (argc - i < 2) return Usage();
  auto ref = imager::oci::ParseRegistryRef(argv[i]);
  if (!ref) return Fail(ref.error());
  auto client = RegistryClient::Open(*ref, options);
  if (!client) return Fail(client.error());
  return Run(*client, argv[i + 1], std::vector<std::string>(argv + i + 2, argv + argc));
}
