//! Configure, build and install a `CMake` project with Ninja, installing into the output.

use std::collections::BTreeMap;

use crate::EngineError;
use crate::context::StepContext;

pub(crate) fn run(
    context: &StepContext<'_>,
    source: &str,
    defines: &BTreeMap<String, String>,
) -> Result<(), EngineError> {
    let cmake = context.program("cmake");
    let build = context.work.join("build");
    let flags = context.c_flags();
    let mut configure = context
        .command(&cmake)
        .arg("-S")
        .arg(&context.sources[source])
        .arg("-B")
        .arg(&build)
        .args(["-G", "Ninja"])
        .arg(format!(
            "-DCMAKE_MAKE_PROGRAM={}",
            context.program("ninja").display()
        ))
        .arg(format!(
            "-DCMAKE_C_COMPILER={}",
            context.program("cc").display()
        ))
        .arg(format!("-DCMAKE_C_FLAGS={flags}"))
        .arg(format!("-DCMAKE_ASM_FLAGS={flags}"))
        .arg(format!("-DCMAKE_INSTALL_PREFIX={}", context.out.display()))
        .arg("-DCMAKE_BUILD_TYPE=Release");
    for (name, value) in defines {
        configure = configure.arg(format!("-D{name}={value}"));
    }
    context.run(&configure)?;
    context.run(&context.command(&cmake).arg("--build").arg(&build))?;
    context.run(&context.command(&cmake).arg("--install").arg(&build))
}
