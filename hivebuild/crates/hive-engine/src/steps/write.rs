//! Write a file whose contents the plan computed (the Microkit system description).

use crate::EngineError;
use crate::context::StepContext;

pub(crate) fn run(
    context: &StepContext<'_>,
    file: &str,
    contents: &str,
) -> Result<(), EngineError> {
    let path = context.out.join(file);
    std::fs::write(&path, contents).map_err(|source| EngineError::Io { path, source })
}
