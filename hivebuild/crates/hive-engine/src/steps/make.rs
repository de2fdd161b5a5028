//! `make -C <source> GOAL VAR=value... OUT=<out>` with the build folder mapped in `CFLAGS`.

use std::collections::BTreeMap;

use hive_plan::Arg;

use crate::EngineError;
use crate::context::StepContext;

pub(crate) fn run(
    context: &StepContext<'_>,
    source: &str,
    goal: Option<&str>,
    vars: &BTreeMap<String, Arg>,
) -> Result<(), EngineError> {
    let mut command = context
        .command(context.program("make"))
        .arg("-C")
        .arg(&context.sources[source])
        .args(goal);
    for (name, value) in vars {
        command = command.arg(format!("{name}={}", context.arg(value)));
    }
    let hostcc = context.program("hostcc");
    command = command
        .arg(format!("OUT={}", context.out.display()))
        .arg(format!("CFLAGS={}", context.c_flags()))
        .arg(format!("HOSTCC={}", hostcc.display()));
    context.run(&command)
}
