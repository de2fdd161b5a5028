//! The peer protocol the `net` skill speaks over UDP: defined once, in the Brain's core
//! (`brain::peer`, which signs and reads it), used here when hivebuild plays a peer in tests.

pub use brain::peer::*;
