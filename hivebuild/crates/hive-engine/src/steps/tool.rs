//! Run a program that another step built (the packer now, the Microkit tool later).

use hive_plan::Arg;

use crate::EngineError;
use crate::context::StepContext;

pub(crate) fn run(
    context: &StepContext<'_>,
    program: &Arg,
    args: &[Arg],
) -> Result<(), EngineError> {
    let command = context
        .command(context.arg(program))
        .args(args.iter().map(|arg| context.arg(arg)));
    context.run(&command)
}
