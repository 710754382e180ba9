# SPDX-License-Identifier: GPL-3.0-or-later
# imager boot under BIOS (SeaBIOS, TCG) on hand-made 512-byte boot sectors that print a marker on
# the serial port: --expect succeeds on the marker (disk, CD, USB stick), fails on a timeout and
# when QEMU exits first, and no QEMU survives it (timeouts, SIGTERM, SIGINT, SIGKILL of imager).
source "$TESTLIB"
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 missing"; exit 77; }

# bootsector OUT MARKER [reset]: real-mode code at 0x7c00 that writes MARKER to COM1 (0x3f8),
# then halts, or with "reset" pulses the keyboard controller's reset line (QEMU exits: -no-reboot).
bootsector() {
  local code
  if [ "${3:-}" = reset ]; then
    # cli; cld; xor ax,ax; mov ds,ax; mov si,0x7c1a; mov dx,0x3f8
    # l: lodsb; test al,al; jz d; out dx,al; jmp l   d: mov al,0xfe; out 0x64,al; jmp $
    code='\xfa\xfc\x31\xc0\x8e\xd8\xbe\x1a\x7c\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8\xb0\xfe\xe6\x64\xeb\xfe'
  else
    # the same, but d: hlt; jmp d
    code='\xfa\xfc\x31\xc0\x8e\xd8\xbe\x17\x7c\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8\xf4\xeb\xfd'
  fi
  printf "$code" >"$1"
  printf '%s\r\n\0' "$2" >>"$1"
  truncate -s 510 "$1"
  printf '\x55\xaa' >>"$1"
}

# Our QEMUs are the ones whose command line holds this test's directory.
no_qemu_left() {
  sleep 0.5
  if pgrep -u "$(id -u)" -f "qemu-system-x86_64 .*$T/" >/dev/null; then
    pgrep -a -u "$(id -u)" -f "qemu-system-x86_64 .*$T/" >&2
    fail "$1: a QEMU process is left over"
  fi
  pass "$1: no QEMU left"
}

# imager's temporary directory (QMP socket) goes there, even when imager is killed.
export XDG_RUNTIME_DIR=$T/run
mkdir "$XDG_RUNTIME_DIR"
MARK="IMAGER-BOOT-$RANDOM$RANDOM"
bootsector "$T/sector.bin" "$MARK"
cp "$T/sector.bin" "$T/disk.img" && truncate -s 1M "$T/disk.img"
bootsector "$T/reset.img" "GOING-DOWN" reset && truncate -s 1M "$T/reset.img"

echo "--- the command line"
cmd=$("$IMAGER" boot --print-command --as-disk --disk "$T/reset.img" --memory 256 --cpus 1 \
  --expect x "$T/disk.img")
echo "$cmd"
assert_contains "image as a virtio boot disk" "virtio-blk-pci,drive=image,bootindex=0" "$cmd"
assert_contains "extra disk" "file=$T/reset.img,if=none,id=disk0,format=raw" "$cmd"
assert_contains "TCG with one cpu" "-accel tcg -m 256 -smp 1" "$cmd"
assert_contains "console captured" "-chardev stdio,id=console,signal=off -serial chardev:console" "$cmd"

echo "--- BIOS, image as a disk: the marker appears"
start=$SECONDS
"$IMAGER" boot --as-disk --memory 256 --cpus 1 --no-network --expect "^$MARK\$" --timeout 60 \
  --log "$T/boot.log" --screendump "$T/screen.ppm" "$T/disk.img" >"$T/out" 2>"$T/err" ||
  fail "boot with --expect failed: $(cat "$T/err")"
echo "   took $((SECONDS - start)) s"
assert_contains "success message" "'^$MARK\$' appeared after" "$(cat "$T/err")"
assert_contains "console echoed" "$MARK" "$(cat "$T/out")"
assert_contains "console logged" "$MARK" "$(cat "$T/boot.log")"
assert_eq "screendump is a PPM" "P6" "$(head -c 2 "$T/screen.ppm")"
no_qemu_left "after a match"
[ -z "$(ls -A "$T/run")" ] || fail "temporary directory left: $(ls -A "$T/run")"
pass "temporary directory removed"

echo "--- BIOS, the boot sector on an El Torito CD"
if command -v xorriso >/dev/null; then
  mkdir -p "$T/cd"
  cp "$T/sector.bin" "$T/cd/boot.bin"
  xorriso -as mkisofs -quiet -o "$T/cd.iso" -b boot.bin -no-emul-boot -boot-load-size 4 \
    "$T/cd" 2>/dev/null || fail "xorriso"
  "$IMAGER" boot --machine pc --memory 256 --cpus 1 --no-network --expect "$MARK" --timeout 60 \
    "$T/cd.iso" >"$T/out" 2>"$T/err" || fail "boot from CD failed: $(cat "$T/err")"
  pass "CD boot"
else
  echo "skip: xorriso missing, no CD boot"
fi

echo "--- BIOS, the image as a USB stick"
"$IMAGER" boot --as-usb --memory 256 --cpus 1 --no-network --expect "$MARK" --timeout 60 \
  "$T/disk.img" >"$T/out" 2>"$T/err" || fail "boot from USB failed: $(cat "$T/err")"
pass "USB boot"

echo "--- timeout: the pattern never appears"
start=$SECONDS
rc=0
"$IMAGER" boot --as-disk --memory 256 --cpus 1 --no-network --expect 'NOT-ON-THE-CONSOLE' \
  --timeout 8 "$T/disk.img" >"$T/out" 2>"$T/err" || rc=$?
took=$((SECONDS - start))
cat "$T/err"
assert_eq "exit code after a timeout" 1 "$rc"
assert_contains "timeout message" "no console line matched 'NOT-ON-THE-CONSOLE' within 8 s" "$(cat "$T/err")"
assert_contains "console tail shown" "  | $MARK" "$(cat "$T/err")"
[ "$took" -lt 30 ] || fail "the timeout of 8 s took $took s"
no_qemu_left "after a timeout"

echo "--- QEMU exits first (the guest resets, -no-reboot)"
start=$SECONDS
rc=0
"$IMAGER" boot --as-disk --memory 256 --cpus 1 --no-network --expect 'NEVER' --timeout 60 \
  "$T/reset.img" >"$T/out" 2>"$T/err" || rc=$?
cat "$T/err"
assert_eq "exit code when QEMU exits first" 1 "$rc"
assert_contains "exit message" "QEMU exited (status 0)" "$(cat "$T/err")"
assert_contains "console tail shown" "  | GOING-DOWN" "$(cat "$T/err")"
[ $((SECONDS - start)) -lt 50 ] || fail "QEMU's exit was not noticed before the timeout"
no_qemu_left "after QEMU exited"

echo "--- signals: imager stops QEMU and reports the signal"
for sig in TERM INT KILL; do
  "$IMAGER" boot --as-disk --memory 256 --cpus 1 --no-network --expect NEVER --timeout 120 \
    "$T/disk.img" >"$T/out" 2>"$T/err" &
  pid=$!
  for _ in $(seq 100); do grep -q "$MARK" "$T/out" && break; sleep 0.2; done
  grep -q "$MARK" "$T/out" || fail "the guest did not start before SIG$sig"
  kill -"$sig" "$pid"
  rc=0
  wait "$pid" || rc=$?
  case $sig in
    TERM) assert_eq "exit code on SIGTERM" 143 "$rc" ;;
    INT) assert_eq "exit code on SIGINT" 130 "$rc" ;;
    KILL) assert_eq "imager killed" 137 "$rc" ;;
  esac
  no_qemu_left "after SIG$sig"
done

echo "--- errors"
rc=0
out=$("$IMAGER" boot --expect '(' "$T/disk.img" 2>&1) || rc=$?
assert_eq "bad regex is a usage error" 2 "$rc"
assert_contains "bad regex named" "--expect '('" "$out"
rc=0
out=$("$IMAGER" boot --expect x "$T/missing.iso" 2>&1) || rc=$?
assert_eq "missing image fails" 1 "$rc"
assert_contains "missing image named" "$T/missing.iso" "$out"
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
  rc=0
  out=$("$IMAGER" boot --kvm --expect x "$T/disk.img" 2>&1) || rc=$?
  assert_eq "--kvm without /dev/kvm fails" 1 "$rc"
  assert_contains "--kvm error names /dev/kvm" "cannot open /dev/kvm" "$out"
fi
echo PASS
