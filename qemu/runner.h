// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Runs QEMU as a child that never outlives imager: waits for it, or (console captured) reads
/// its serial console until a pattern matches or a deadline passes; takes a screendump over QMP
/// before stopping it; SIGINT/SIGTERM/SIGHUP stop QEMU too.

#include <regex>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::qemu {

/// Text typed into the serial console (followed by a carriage return, the Enter key) once a
/// console line matches `when`, such as a user name at a "login: " prompt.
struct Send {
  std::regex when;
  std::string text;
};

struct RunOptions {
  bool capture = false;                // QEMU's stdout is the serial console: watch it (and
                                       // its stdin is the console's input when `sends` is set)
  std::vector<Send> sends;             // capture: in order, each after the previous was typed
  const std::regex* expect = nullptr;  // capture: succeed when a console line matches (after
                                       // the last send, if any)
  int timeout_seconds = 0;             // > 0: stop QEMU after this long
  std::string log;                     // capture: raw copy of the console
  bool echo = true;                    // capture: copy the console to imager's stdout
  std::string qmp_socket;              // QEMU's QMP server (Machine::qmp_socket)
  std::string screendump;              // take a screendump into this file before stopping QEMU
  int settle_seconds = 0;  // after a match: keep the guest running (and logged) this long first
};

struct RunOutcome {
  enum Kind {
    kMatched,      // the pattern appeared on the console
    kTimedOut,     // the deadline passed first
    kQemuExited,   // QEMU exited (guest power-off, error) before a match
    kInterrupted,  // imager got a signal
  };
  Kind kind = kQemuExited;
  int qemu_status = 0;  // QEMU's exit code, 128+N when killed by signal N (kQemuExited)
  int signal = 0;       // kInterrupted: the signal imager received
  double seconds = 0;
  std::string matched_line;
  std::vector<double> sent_seconds;       // when each of RunOptions::sends was typed
  std::vector<std::string> console_tail;  // capture: the last 30 console lines
  std::vector<std::string> qemu_errors;   // capture: the last lines QEMU wrote to stderr
  std::string screendump_error;           // screendump asked for and failed: why
};

/// Starts argv (argv[0] looked up in PATH) and runs it to one of the outcomes; an error means
/// QEMU could not be started (the message names the binary and, if absent, its package).
Result<RunOutcome> Run(const std::vector<std::string>& argv, const RunOptions& options);

/// Asks the QMP server at `socket` for a screendump into `file` (PNG for *.png, else PPM).
Status Screendump(const std::string& socket, const std::string& file);

}  // namespace imager::qemu
