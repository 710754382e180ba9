// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Stage options as data (osbuild's rule: a stage's id is the hash of exactly what it receives).
/// A stage's run function gets one options value and nothing else from the planner; the stage's
/// key inputs are computed from that value, field by field, so nothing a stage uses can be left
/// out of its key. An options type is an aggregate that lists each of its members once:
///
///   struct ConfigOptions {
///     std::string hostname, timezone, locale;
///     static constexpr auto kFields = std::tuple{Field("hostname", &ConfigOptions::hostname),
///                                                Field("timezone", &ConfigOptions::timezone),
///                                                Field("locale", &ConfigOptions::locale)};
///   };
///
/// MakeStage (engine/pipeline.h) refuses, at compile time, an options type whose kFields does
/// not name every member (FieldCount). A field is keyed by its type's AppendKey (strings as
/// they are, numbers in decimal, bools yes/no, vectors element by element as NAME[I], nested
/// options types as NAME.FIELD, ContentPath by the content it names) or by an encoder of its
/// own where the key must keep an older spelling; Unkeyed marks the rare field that is derived
/// from keyed ones (a package's cache path from its sha256) and says why.
/// stages/plan_test.cc changes every field of every stage of a planned build (Stage::variants)
/// and checks that the stage's key changes.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "engine/key.h"

namespace imager::engine {

/// A path whose content (a file or a whole tree, see HashTree) is what the stage depends on.
struct ContentPath {
  std::string path;
  bool operator==(const ContentPath&) const = default;
};

/// The key inputs of one options value, in field order.
class KeyInputs {
 public:
  void Value(std::string name, std::string value) {
    inputs_.push_back(KeyInput::Value(std::move(name), std::move(value)));
  }
  void Content(std::string name, std::string path) {
    inputs_.push_back(KeyInput::Content(std::move(name), std::move(path)));
  }
  const std::vector<KeyInput>& inputs() const { return inputs_; }
  std::vector<KeyInput> take() { return std::move(inputs_); }

 private:
  std::vector<KeyInput> inputs_;
};

/// How a field is keyed: by its type's AppendKey, by an encoder of its own, or not at all.
enum class Keying { kByType, kEncoder, kUnkeyed };

template <typename O, typename T, Keying K>
struct FieldDef {
  using Owner = O;
  using Type = T;
  static constexpr Keying kKeying = K;
  const char* name;
  T O::*member;
  void (*encode)(KeyInputs&, const std::string& name, const T& value) = nullptr;  // kEncoder
  const char* unkeyed_because = nullptr;  // kUnkeyed: why (it is derived from keyed fields)
};

template <typename O, typename T>
constexpr FieldDef<O, T, Keying::kByType> Field(const char* name, T O::*member) {
  return {name, member, nullptr, nullptr};
}

template <typename O, typename T>
constexpr FieldDef<O, T, Keying::kEncoder> Field(const char* name, T O::*member,
                                                 void (*encode)(KeyInputs&, const std::string&,
                                                                const T&)) {
  return {name, member, encode, nullptr};
}

template <typename O, typename T>
constexpr FieldDef<O, T, Keying::kUnkeyed> Unkeyed(const char* name, T O::*member,
                                                   const char* because) {
  return {name, member, nullptr, because};
}

template <typename T>
concept HasFields = requires {
  T::kFields;
};

// ---- counting an aggregate's members ---------------------------------------------------------

namespace detail {
struct AnyMember {
  template <typename T>
  operator T&() const;  // never defined: only used in unevaluated brace-initialisation
  template <typename T>
  operator T&&() const;
};
template <typename T, typename... A>
consteval size_t CountMembers() {
  if constexpr (requires { T{std::declval<A>()..., std::declval<AnyMember>()}; })
    return CountMembers<T, A..., AnyMember>();
  else
    return sizeof...(A);
}
}  // namespace detail

/// The number of members of aggregate T.
template <typename T>
consteval size_t FieldCount() {
  return detail::CountMembers<T>();
}

/// True when T's kFields names each member exactly once (counted, and no member twice).
template <HasFields T>
consteval bool ListsEveryMember() {
  constexpr auto& f = T::kFields;
  return std::tuple_size_v<std::remove_cvref_t<decltype(f)>> == FieldCount<T>();
}

// ---- keying -------------------------------------------------------------------------------

inline void AppendKey(KeyInputs& k, const std::string& name, const std::string& v) {
  k.Value(name, v);
}
inline void AppendKey(KeyInputs& k, const std::string& name, bool v) {
  k.Value(name, v ? "yes" : "no");
}
template <typename T>
requires std::is_integral_v<T> &&
    (!std::is_same_v<T, bool>)void AppendKey(KeyInputs& k, const std::string& name, T v) {
  k.Value(name, std::to_string(v));
}
template <typename T>
requires std::is_enum_v<T>
void AppendKey(KeyInputs& k, const std::string& name, T v) {
  k.Value(name, std::to_string(static_cast<long long>(v)));
}
inline void AppendKey(KeyInputs& k, const std::string& name, const ContentPath& v) {
  if (v.path.empty())
    k.Value(name, "");  // no path at all
  else
    k.Content(name, v.path);
}
template <HasFields T>
void AppendKey(KeyInputs& k, const std::string& name, const T& v);
template <typename T>
void AppendKey(KeyInputs& k, const std::string& name, const std::map<std::string, T>& v) {
  k.Value(name + ".size", std::to_string(v.size()));
  for (const auto& [key, value] : v) AppendKey(k, name + "[" + key + "]", value);
}
template <typename T>
void AppendKey(KeyInputs& k, const std::string& name, const std::vector<T>& v) {
  k.Value(name + ".size", std::to_string(v.size()));
  for (size_t i = 0; i < v.size(); ++i) AppendKey(k, name + "[" + std::to_string(i) + "]", v[i]);
}

/// Appends the key inputs of every keyed field of `options`, each name prefixed by `prefix`.
template <HasFields T>
void AppendFields(KeyInputs& k, const std::string& prefix, const T& options) {
  static_assert(ListsEveryMember<T>(), "kFields must name every member of the options type");
  std::apply(
      [&](const auto&... field) {
        (
            [&] {
              constexpr Keying kind = std::remove_cvref_t<decltype(field)>::kKeying;
              std::string name = prefix + field.name;
              if constexpr (kind == Keying::kEncoder)
                field.encode(k, name, options.*(field.member));
              else if constexpr (kind == Keying::kByType)
                AppendKey(k, name, options.*(field.member));
            }(),
            ...);
      },
      T::kFields);
}

template <HasFields T>
void AppendKey(KeyInputs& k, const std::string& name, const T& v) {
  AppendFields(k, name + ".", v);
}

/// The key inputs of an options value.
template <HasFields T>
std::vector<KeyInput> KeyInputsOf(const T& options) {
  KeyInputs k;
  AppendFields(k, "", options);
  return k.take();
}

// ---- changing one field at a time (for the tests that every field is keyed) ------------------

/// Makes `v` different from what it was; false when this type cannot be changed generically.
/// `other_content` is a path whose content differs from any ContentPath's.
inline bool Perturb(std::string& v, const std::string&) {
  v += "~";
  return true;
}
inline bool Perturb(bool& v, const std::string&) {
  v = !v;
  return true;
}
template <typename T>
requires std::is_integral_v<T> &&(!std::is_same_v<T, bool>)bool Perturb(T& v, const std::string&) {
  v = static_cast<T>(v + 1);
  return true;
}
template <typename T>
requires std::is_enum_v<T>
bool Perturb(T& v, const std::string&) {
  v = static_cast<T>(static_cast<long long>(v) + 1);
  return true;
}
inline bool Perturb(ContentPath& v, const std::string& other_content) {
  v.path = other_content;
  return true;
}
template <typename T>
bool Perturb(std::vector<T>& v, const std::string&) {
  v.emplace_back();
  return true;
}
template <typename T>
bool Perturb(std::map<std::string, T>& v, const std::string&) {
  v.emplace("~" + std::to_string(v.size()), T{});
  return true;
}

/// For every keyed field (nested options types field by field), the options with that one field
/// changed, named by the field's path.
template <HasFields T>
std::vector<std::pair<std::string, T>> OneFieldChanged(const T& options,
                                                       const std::string& other_content) {
  std::vector<std::pair<std::string, T>> out;
  std::apply(
      [&](const auto&... field) {
        (
            [&] {
              using Def = std::remove_cvref_t<decltype(field)>;
              using F = typename Def::Type;
              if constexpr (Def::kKeying == Keying::kUnkeyed) {
                return;
              } else if constexpr (HasFields<F>) {
                for (auto& [sub, changed] :
                     OneFieldChanged(options.*(field.member), other_content)) {
                  T copy = options;
                  copy.*(field.member) = std::move(changed);
                  out.emplace_back(std::string(field.name) + "." + sub, std::move(copy));
                }
              } else {
                T copy = options;
                if (Perturb(copy.*(field.member), other_content))
                  out.emplace_back(field.name, std::move(copy));
              }
            }(),
            ...);
      },
      T::kFields);
  return out;
}

}  // namespace imager::engine
