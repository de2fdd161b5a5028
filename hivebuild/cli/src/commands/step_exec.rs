//! `hivebuild step-exec`: the builder of the Nix engine's derivations. Nix runs it in its
//! sandbox with the step in `$hiveStepExecPath` and the output to make at `$out`; it runs the
//! step with the native engine's code (`hive_engine::exec`).

use std::path::PathBuf;

use hive_ops::Error;

use crate::cli::StepExecArgs;

pub(crate) fn run(args: &StepExecArgs) -> Result<(), Error> {
    let spec = hive_engine::exec::read_spec(&args.spec)?;
    let scratch = match &args.scratch {
        Some(dir) => dir.clone(),
        None => std::env::var_os("NIX_BUILD_TOP")
            .map(|top| PathBuf::from(top).join("hive"))
            .ok_or_else(|| {
                Error::usage("`--scratch DIR` is needed outside a Nix build (no `NIX_BUILD_TOP`)")
            })?,
    };
    let jobs = std::env::var("NIX_BUILD_CORES")
        .ok()
        .and_then(|cores| cores.parse::<usize>().ok())
        .filter(|cores| *cores > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1);
    hive_engine::exec::exec(&spec, &scratch, &args.out, jobs)?;
    Ok(())
}
