#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The manual pages and completion scripts list every verb, subcommand and option the parser
# accepts, as `imager ... --help` shows them (both come from the parser's tree; this catches a
# generator that skips something). The bash script parses and completes; the zsh and fish ones
# are checked by their shells when installed.
set -euo pipefail
: "${IMAGER:?IMAGER must point to build/imager}"
fail() { echo "FAIL: $*" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# `--help` of a command: its subcommands and its options (long names, else short ones).
subcommands() { "$IMAGER" "$@" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'; }
options() {
  "$IMAGER" "$@" --help | sed -n '/^Options:/,/^$/p' |
    grep -oE '^ +(-[a-zA-Z],)? *--?[a-zA-Z][a-zA-Z0-9-]*' | tr ',' ' ' | awk '{ print $NF }'
}

verbs=$(subcommands)
[ -n "$verbs" ] || fail "imager --help lists no verbs"
"$IMAGER" manpage >"$T/imager.1"
"$IMAGER" completion bash >"$T/imager.bash"
bash -n "$T/imager.bash" || fail "the bash completion does not parse"
# shellcheck disable=SC1090
source "$T/imager.bash"
checked=0
for v in $verbs; do
  grep -q "^\\\\fBimager $v\\\\fR" "$T/imager.1" || fail "imager(1) lacks the verb $v"
  "$IMAGER" manpage "$v" >"$T/$v.1"
  for cmd in "$v" $(subcommands "$v" | sed "s/^/$v:/"); do
    words=${cmd/:/ }
    [[ $cmd == *:* ]] && { grep -qxF ".SS ${words//-/\\-}" "$T/$v.1" || fail "imager-$v(1) lacks $words"; }
    for o in $(options $words); do
      roff=${o//-/\\-}
      grep -qF "\\fB$roff\\fR" "$T/$v.1" || fail "imager-$v(1) lacks $words $o"
      [[ " $(_imager_opts "$words") " == *" $o "* ]] || fail "bash completion lacks $words $o"
      checked=$((checked + 1))
    done
  done
done
echo "ok: every verb, subcommand and option ($checked options) in the pages and the bash completion"

# imager-profile(5), and every page as a package installs them: groff formats each without a
# warning, and --all writes the same pages as one at a time.
"$IMAGER" manpage --section 5 profile >"$T/imager-profile.5"
head -1 "$T/imager-profile.5" | grep -qF '.TH imager\-profile 5 ' || fail "imager-profile(5) header"
fields=$(grep -c '^\.TP' "$T/imager-profile.5")
[ "$fields" -gt 60 ] || fail "imager-profile(5) documents $fields fields"
for key in distribution.family 'repositories[].mirror' rootfs.users output.disk.size; do
  grep -qF "\\fB$key\\fR (" "$T/imager-profile.5" || fail "imager-profile(5) lacks $key"
done
mkdir "$T/all"
"$IMAGER" manpage --all "$T/all"
cmp "$T/all/imager-profile.5" "$T/imager-profile.5" || fail "--all wrote another imager-profile.5"
cmp "$T/all/imager-build.1" "$T/build.1" || fail "--all wrote another imager-build.1"
[ "$(ls "$T/all" | wc -l)" = $(($(echo "$verbs" | wc -w) + 2)) ] || fail "--all: $(ls "$T/all")"
for page in "$T"/all/*; do
  warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
  [ -z "$warnings" ] || fail "groff warns on $(basename "$page"): $warnings"
done
if "$IMAGER" manpage --section 5 build >/dev/null 2>&1; then fail "section 5 has a page for build"; fi
echo "ok: imager-profile(5) ($fields fields) and $(ls "$T/all" | wc -l) pages format without warnings"

# Completing: a verb, an option, a subcommand.
complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _imager; echo "${COMPREPLY[*]}"; }
[ "$(complete_words imager bui)" = build ] || fail "imager bui<TAB>: $(complete_words imager bui)"
[[ " $(complete_words imager build --reb) " == *" --rebuild "* ]] || fail "imager build --reb<TAB>"
[ "$(complete_words imager profile ne)" = new ] || fail "imager profile ne<TAB>"
PATH=$(dirname "$IMAGER"):$PATH
[ "$(complete_words imager build debian-l)" = debian-live ] || fail "imager build debian-l<TAB>"
[ "$(complete_words imager build debian-live --rebuild boot)" = bootloader ] ||
  fail "imager build debian-live --rebuild boot<TAB>: $(complete_words imager build debian-live --rebuild boot)"
echo "ok: bash completes verbs, options, subcommands, profile names and stage names"

for sh in zsh fish; do
  "$IMAGER" completion $sh >"$T/imager.$sh"
  if command -v $sh >/dev/null; then $sh -n "$T/imager.$sh" || fail "$sh completion does not parse"; fi
done
echo "ok: zsh and fish scripts generated"
