// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Helpers that the stages of build.cc and the package stages share: running a sandbox with its
/// output in the stage's log, and the layers a stage sees below its own.

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/spec.h"
#include "stages/build.h"
#include "stages/stage.h"

namespace imager::stages {

/// Runs `spec` with its output in the stage's log; a failure names what ran and how it ended.
Status RunLogged(sandbox::SandboxSpec spec, StageContext& ctx, const std::string& what);

/// The layers below a stage, mounted read-only at `target` (a bind when there is only one).
void MountLayers(const std::vector<StageOutput>& layers, const std::string& target,
                 std::vector<sandbox::BindSpec>* binds, std::vector<sandbox::OverlaySpec>* ovls);

/// The parents of a stage that are layers, bottom first.
std::vector<StageOutput> Layers(const StageContext& ctx);

/// Key encodings for a flag that was keyed only when set ("yes") or only when cleared ("no").
void KeyOnlyYes(KeyInputs& k, const std::string& name, const bool& value);
void KeyOnlyNo(KeyInputs& k, const std::string& name, const bool& value);

/// An image file that one of imager's writers (`imager internal WRITER ROOT OUT`, inside the id
/// mapping) makes from layers: the options of an image file stage.
struct ImageWriter {
  std::string file;    // written into the stage's output
  std::string writer;  // write-tar, write-squashfs
  /// write-squashfs of one layer as an overlay layer of its own (its whiteouts kept).
  bool overlay_layer = false;
  int64_t source_date_epoch = -1;
  static constexpr auto kFields =
      std::tuple{Field("file", &ImageWriter::file), Field("writer", &ImageWriter::writer),
                 Field("overlay_layer", &ImageWriter::overlay_layer, &KeyOnlyYes),
                 Field("source_date_epoch", &ImageWriter::source_date_epoch)};
};

/// Artifact `stage`: `writer.file` written from `layers` (merged; a single layer is read as it
/// is). `version`: the stage's (bump it when the writer's bytes change).
Stage ImageFileStage(const std::string& stage, std::vector<std::string> layers, ImageWriter writer,
                     int version = 1);

/// A sandbox whose root is the layers below plus this stage's output as the writable upper.
Result<sandbox::SandboxSpec> ImageSpec(StageContext& ctx);

/// A tools sandbox (`imager internal ARGS`, see sandbox/tools.h) with the image mounted at
/// /target: the layers below plus this stage's output as the writable upper (or the output
/// directory itself when there is nothing below).
Result<sandbox::SandboxSpec> TargetSpec(StageContext& ctx, std::vector<sandbox::BindSpec> binds,
                                        const std::vector<std::string>& args);

/// `from` copied to `to` (its parents made) with permission bits `mode`.
Status CopyFile(const std::string& from, const std::string& to, mode_t mode);
/// `to` becomes `from`: a hard link when both are on one filesystem (the cache), else a copy
/// with `from`'s permission bits; a file already at `to` is replaced.
Status LinkOrCopy(const std::string& from, const std::string& to);
/// Every regular file below `dir`, as relative paths, sorted.
Result<std::vector<std::string>> FilesBelow(const std::string& dir);

}  // namespace imager::stages
