#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    hive_fuzz::image::check(data);
});
