// SPDX-License-Identifier: GPL-3.0-or-later
// The pure parts of the registry client: references, auth challenges, auth files, links, error
// bodies. The protocol is in registry_client.cc, libcurl in registry_curl.cc.
#include "oci/registry.h"

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace imager::oci {
namespace {

using Json = nlohmann::json;

constexpr char kDockerScheme[] = "docker://";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component of a repository name: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*.
bool ValidNameComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    if (IsLowerAlnum(c[i])) continue;
    if (c[i] == '-' && (IsLowerAlnum(c[i + 1]) || c[i + 1] == '-')) continue;  // "-+"
    if (c[i] == '.' && IsLowerAlnum(c[i + 1])) continue;
    if (c[i] == '_' && (IsLowerAlnum(c[i + 1]) || (c[i + 1] == '_' && IsLowerAlnum(c[i + 2]))))
      continue;
    return false;
  }
  return true;
}

}  // namespace

bool ValidRegistryTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
              (i > 0 && (c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

namespace {

// A host name or IPv4 address, or "[IPv6]", optionally followed by ":PORT".
bool ValidHost(std::string_view h) {
  std::string_view name = h, port;
  if (!h.empty() && h.front() == '[') {
    size_t close = h.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : h.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    name = {};
    std::string_view rest = h.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
    if (!rest.empty() && port.empty()) return false;
  } else if (size_t colon = h.find(':'); colon != std::string_view::npos) {
    name = h.substr(0, colon);
    port = h.substr(colon + 1);
    if (port.empty()) return false;
  }
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  if (port.size() > 5 || (!port.empty() && std::atoi(std::string(port).c_str()) > 65535))
    return false;
  if (h.front() == '[') return true;
  if (name.empty() || name.front() == '.' || name.back() == '.' || name.front() == '-')
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  return true;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Reads an RFC 7230 token at `s[*i]`.
std::string ReadToken(std::string_view s, size_t* i) {
  size_t start = *i;
  while (*i < s.size() && IsTokenChar(s[*i])) ++*i;
  return std::string(s.substr(start, *i - start));
}

void SkipSpace(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t')) ++*i;
}

// Reads a quoted string (with backslash escapes) or a token after "name=".
std::string ReadValue(std::string_view s, size_t* i) {
  if (*i >= s.size() || s[*i] != '"') return ReadToken(s, i);
  std::string out;
  for (++*i; *i < s.size() && s[*i] != '"'; ++*i) {
    if (s[*i] == '\\' && *i + 1 < s.size()) ++*i;
    out += s[*i];
  }
  if (*i < s.size()) ++*i;  // the closing quote
  return out;
}

// "HOST" of a legacy auth key such as "https://index.docker.io/v1/" or "http://host:5000".
std::string HostOfKey(std::string key) {
  for (const char* scheme : {"https://", "http://"})
    if (StartsWith(key, scheme)) key.erase(0, std::string_view(scheme).size());
  return key.substr(0, key.find('/'));
}

Result<Credentials> DecodeAuthEntry(const std::string& key, const Json& entry) {
  std::string where = "auths[\"" + key + "\"]";
  if (!entry.is_object()) return Error{where + " is not an object"};
  auto auth = entry.find("auth");
  if (auth == entry.end() || !auth->is_string() || auth->get<std::string>().empty())
    return Error{where + " has no \"auth\" (a credential helper is not supported)"};
  auto decoded = DecodeBase64(auth->get<std::string>());
  size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return Error{where + ".auth is not base64 of USER:PASSWORD"};
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

}  // namespace

std::string RegistryRef::ToString() const {
  return kDockerScheme + host + "/" + repository + (tag.empty() ? "" : ":" + tag);
}

Result<RegistryRef> ParseRegistryRef(const std::string& text) {
  std::string rest = text;
  if (StartsWith(rest, kDockerScheme)) rest.erase(0, std::string_view(kDockerScheme).size());
  const std::string what = "registry reference '" + text + "'";
  if (rest.empty()) return Error{what + ": empty; expected docker://HOST[:PORT]/REPOSITORY[:TAG]"};
  if (size_t scheme = rest.find("://"); scheme != std::string::npos)
    return Error{what + ": unsupported transport '" + rest.substr(0, scheme) +
                 "://'; expected docker://HOST[:PORT]/REPOSITORY[:TAG]"};
  std::vector<std::string> problems;
  RegistryRef ref;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    problems.push_back("a digest ('" + rest.substr(at) + "') instead of a tag is not supported");
    rest.erase(at);
  }
  size_t slash = rest.find('/');
  std::string first = rest.substr(0, slash);
  bool has_host = slash != std::string::npos && (first.find_first_of(".:") != std::string::npos ||
                                                 first == "localhost" || StartsWith(first, "["));
  bool host_only = slash == std::string::npos &&
                   (first.find_first_of(".:") != std::string::npos || first == "localhost");
  if (host_only) {
    problems.push_back("no repository after the host '" + first + "'");
  } else if (!has_host) {
    problems.push_back(
        "no registry host: the first component must be a host name with a '.' or "
        "a ':PORT', or 'localhost' (docker://registry.example.com/imager/cache)");
  } else {
    ref.host = first;
    rest.erase(0, slash + 1);
    if (!ValidHost(ref.host)) problems.push_back("invalid registry host '" + ref.host + "'");
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.find(':', last_slash == std::string::npos ? 0 : last_slash);
  if (colon != std::string::npos) {
    ref.tag = rest.substr(colon + 1);
    rest.erase(colon);
    if (!ValidRegistryTag(ref.tag))
      problems.push_back("invalid tag '" + ref.tag + "' (letters, digits, '_', '.', '-'; at most " +
                         "128; not starting with '.' or '-')");
  }
  ref.repository = rest;
  if (ref.repository.empty() && has_host) problems.push_back("no repository after the host");
  for (const std::string& c : Split(ref.repository, '/')) {
    if (ref.repository.empty() || ValidNameComponent(c)) continue;
    problems.push_back("invalid repository component '" + c +
                       "' (lowercase letters and digits, separated by '.', '_', '__' or '-')");
  }
  if (ref.repository.size() > 255) problems.push_back("repository name longer than 255 bytes");
  if (problems.size() == 1) return Error{what + ": " + problems[0]};
  if (!problems.empty()) return Error{what + ":\n  " + Join(problems, "\n  ")};
  return ref;
}

std::string HttpResponse::Header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

std::vector<AuthChallenge> ParseWwwAuthenticate(const std::string& header) {
  std::vector<AuthChallenge> out;
  std::string_view s = header;
  size_t i = 0;
  while (i < s.size()) {
    SkipSpace(s, &i);
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    std::string scheme = ReadToken(s, &i);
    if (scheme.empty()) break;  // not a challenge: stop rather than guess
    AuthChallenge ch{Lower(scheme), {}};
    // Parameters: "name=value" separated by commas, until a token not followed by '='.
    for (;;) {
      SkipSpace(s, &i);
      while (i < s.size() && s[i] == ',') {
        ++i;
        SkipSpace(s, &i);
      }
      size_t mark = i;
      std::string name = ReadToken(s, &i);
      SkipSpace(s, &i);
      if (name.empty() || i >= s.size() || s[i] != '=') {
        i = mark;
        break;
      }
      ++i;
      SkipSpace(s, &i);
      ch.params[Lower(name)] = ReadValue(s, &i);
    }
    // A token68 ("Negotiate abc==") is skipped up to the next comma.
    if (i < s.size() && s[i] != ',' && !IsTokenChar(s[i]))
      while (i < s.size() && s[i] != ',') ++i;
    out.push_back(std::move(ch));
  }
  return out;
}

std::optional<std::string> DecodeBase64(const std::string& text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=')
      break;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Result<std::optional<Credentials>> FindCredentials(const std::string& auth_json,
                                                   const std::string& host,
                                                   const std::string& repository) {
  Json doc = Json::parse(auth_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Error{"not a JSON object"};
  auto auths = doc.find("auths");
  if (auths == doc.end()) return std::optional<Credentials>();
  if (!auths->is_object()) return Error{"\"auths\" is not an object"};
  // Most specific first: HOST/A/B, HOST/A, HOST, then the legacy URL forms of HOST.
  std::vector<std::string> keys;
  std::string scope = host + (repository.empty() ? "" : "/" + repository);
  for (;;) {
    keys.push_back(scope);
    size_t slash = scope.rfind('/');
    if (slash == std::string::npos) break;
    scope.erase(slash);
  }
  for (const std::string& key : keys)
    if (auto it = auths->find(key); it != auths->end()) {
      auto creds = DecodeAuthEntry(key, *it);
      if (!creds) return creds.take_error();
      return std::optional<Credentials>(*creds);
    }
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    if (it.key().find("://") == std::string::npos || HostOfKey(it.key()) != host) continue;
    auto creds = DecodeAuthEntry(it.key(), it.value());
    if (!creds) return creds.take_error();
    return std::optional<Credentials>(*creds);
  }
  return std::optional<Credentials>();
}

std::vector<std::string> AuthFileCandidates(const std::string& explicit_file,
                                            const std::function<const char*(const char*)>& getenv) {
  if (!explicit_file.empty()) return {explicit_file};
  auto env = [&](const char* name) -> std::string {
    const char* v = getenv ? getenv(name) : std::getenv(name);
    return v ? v : "";
  };
  std::vector<std::string> files;
  if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) files.push_back(f);
  if (auto d = env("XDG_RUNTIME_DIR"); !d.empty()) files.push_back(d + "/containers/auth.json");
  if (auto h = env("HOME"); !h.empty()) files.push_back(h + "/.docker/config.json");
  return files;
}

std::string NextLink(const std::string& header) {
  // Link: <URL>; rel="next", <URL2>; rel="prev"
  std::string_view s = header;
  size_t i = 0;
  while ((i = s.find('<', i)) != std::string_view::npos) {
    size_t close = s.find('>', i);
    if (close == std::string_view::npos) return "";
    std::string url(s.substr(i + 1, close - i - 1));
    size_t end = s.find('<', close);
    std::string params = Lower(s.substr(
        close + 1, end == std::string_view::npos ? std::string_view::npos : end - close - 1));
    for (std::string p : Split(params, ';')) {
      p = std::string(Trim(p));
      if (!StartsWith(p, "rel")) continue;
      std::string value(Trim(std::string_view(p).substr(3)));
      if (value.empty() || value[0] != '=') continue;
      value = std::string(Trim(std::string_view(value).substr(1)));
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      for (const std::string& rel : Split(value, ' '))
        if (rel == "next") return url;
    }
    i = close;
  }
  return "";
}

std::string ResolveUrl(const std::string& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  size_t scheme = base.find("://");
  size_t path = scheme == std::string::npos ? std::string::npos : base.find('/', scheme + 3);
  std::string origin = base.substr(0, path);
  if (StartsWith(location, "//")) return base.substr(0, scheme + 1) + location;
  if (StartsWith(location, "/")) return origin + location;
  std::string dir = path == std::string::npos ? "/" : base.substr(path);
  dir = dir.substr(0, dir.find_first_of("?#"));
  dir.erase(dir.rfind('/') + 1);
  return origin + dir + location;
}

std::string RegistryErrorText(const std::string& body) {
  if (Trim(body).empty()) return "";
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> parts;
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    for (const Json& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string text = e.value("code", "");
      std::string message =
          e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
      if (!message.empty()) text += (text.empty() ? "" : ": ") + message;
      if (e.contains("detail") && !e["detail"].is_null()) {
        std::string detail =
            e["detail"].is_string() ? e["detail"].get<std::string>() : e["detail"].dump();
        if (detail.size() > 200) detail = detail.substr(0, 200) + "...";
        text += " (" + detail + ")";
      }
      if (!text.empty()) parts.push_back(text);
    }
  }
  if (!parts.empty()) return Join(parts, "; ");
  std::string text(Trim(body));
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text.size() > 200 ? text.substr(0, 200) + "..." : text;
}

std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace imager::oci
