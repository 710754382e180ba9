// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The engine's vocabulary as the stage definitions use it. A stage definition is an options
/// type (engine/options.h: every member listed in kFields, so every member is keyed), a
/// captureless run function that receives that value, and a function that fills the options
/// from the profile and returns MakeStage(...); see docs/ARCHITECTURE.md, "Stages".

#include "engine/cache.h"
#include "engine/key.h"
#include "engine/options.h"
#include "engine/pipeline.h"
#include "engine/progress.h"

namespace imager::stages {

using engine::Cache;
using engine::ContentPath;
using engine::Field;
using engine::KeyInput;
using engine::KeyInputs;
using engine::LogTail;
using engine::MakeStage;
using engine::OutputKind;
using engine::Pipeline;
using engine::PipelineOptions;
using engine::PipelineReport;
using engine::ProgressSink;
using engine::Stage;
using engine::StageContext;
using engine::StageInfo;
using engine::StageOutput;
using engine::StageReport;
using engine::Unkeyed;

}  // namespace imager::stages
