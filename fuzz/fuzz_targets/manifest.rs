#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hive_fuzz::manifest::check(data);
});
