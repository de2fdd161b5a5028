//! One module per step kind. Each turns a planned step into commands run in its context,
//! leaving the result in the context's output folder.

mod asset;
mod cargo;
mod cmake;
pub(crate) mod fetch;
mod make;
mod microkit;
mod render;
mod tool;
mod unikraft;
mod warm;
mod write;

use hive_plan::StepKind;

use crate::EngineError;
use crate::context::StepContext;

pub(crate) fn run(context: &StepContext<'_>) -> Result<(), EngineError> {
    match &context.step.kind {
        StepKind::Fetch { source, locked } => fetch::run(context, source, locked),
        StepKind::Render {
            template,
            context: values,
        } => render::run(context, template, values),
        StepKind::Cargo {
            package,
            package_name,
            triple,
            crate_type,
            build_std,
            features,
            cpu,
        } => cargo::run(
            context,
            &cargo::Params {
                package,
                package_name,
                triple,
                crate_type,
                build_std,
                features,
                cpu: cpu.as_deref(),
            },
        ),
        StepKind::Make { source, goal, vars } => make::run(context, source, goal.as_deref(), vars),
        StepKind::Cmake {
            source,
            defines,
            c_compiler: _,
        } => cmake::run(context, source, defines),
        StepKind::Tool { program, args } => tool::run(context, program, args),
        StepKind::Write { file, contents } => write::run(context, file, contents),
        StepKind::MicrokitSdk {
            microkit,
            sel4,
            rust_sel4,
            boards,
            configs,
            host_triple,
            build_std,
            rust_sel4_commit,
        } => microkit::run(
            context,
            &microkit::Params {
                microkit,
                sel4,
                rust_sel4,
                boards,
                configs,
                host_triple,
                build_std,
                rust_sel4_commit: rust_sel4_commit.as_deref(),
            },
        ),
        StepKind::Unikraft {
            core,
            libraries,
            app,
            skill_source,
            name,
            arch,
            cross_compile,
            fragment,
        } => unikraft::run(
            context,
            &unikraft::Params {
                core,
                libraries,
                app,
                skill_source: skill_source.as_deref(),
                name,
                arch,
                cross_compile,
                fragment,
            },
        ),
        StepKind::Asset {
            package,
            version,
            arch,
            sha256,
            files,
        } => asset::run(
            context,
            &asset::Pin {
                package,
                version,
                arch,
                sha256,
            },
            files,
        ),
    }
}
