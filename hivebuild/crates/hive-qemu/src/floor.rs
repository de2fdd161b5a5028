//! Floor kernels: the least a guest can do (print `floor: ready`, power off), written out
//! as ELF files by hand, so that boot latencies can be given next to the floor of the same
//! machine in the same run, and as ratios to it.

use hive_manifest::target::Arch;

/// What a floor kernel prints.
pub const FLOOR_MARKER: &str = "floor: ready";

const MESSAGE: &[u8] = b"floor: ready\n\0";

/// `x86_64`: 32-bit code entered through the PVH note at 1 MiB (what microvm and `-kernel`
/// take): print to COM1, write 0 to the isa-debug-exit port, halt.
fn x86_64() -> (u64, Vec<u8>, Option<u32>) {
    const ENTRY: u64 = 0x10_0000;
    let message_at = u32::try_from(ENTRY).expect("below 4 GiB") + 28;
    let mut code = vec![0xbe];
    code.extend_from_slice(&message_at.to_le_bytes()); //  0: mov esi, message
    code.extend_from_slice(&[0x66, 0xba, 0xf8, 0x03]); //  5: mov dx, 0x3f8
    code.extend_from_slice(&[0xac]); //                     9: next: lodsb
    code.extend_from_slice(&[0x84, 0xc0]); //              10: test al, al
    code.extend_from_slice(&[0x74, 0x03]); //              12: jz done
    code.extend_from_slice(&[0xee]); //                    14: out dx, al
    code.extend_from_slice(&[0xeb, 0xf8]); //              15: jmp next
    code.extend_from_slice(&[0x66, 0xba, 0x01, 0x05]); //  17: done: mov dx, 0x501
    code.extend_from_slice(&[0x31, 0xc0]); //              21: xor eax, eax
    code.extend_from_slice(&[0x66, 0xef]); //              23: out dx, ax
    code.extend_from_slice(&[0xf4]); //                    25: hlt
    code.extend_from_slice(&[0xeb, 0xfd]); //              26: jmp 25
    debug_assert_eq!(code.len(), 28);
    code.extend_from_slice(MESSAGE);
    (
        ENTRY,
        code,
        Some(u32::try_from(ENTRY).expect("below 4 GiB")),
    )
}

/// `aarch64` (QEMU virt): write to the PL011 at `0x0900_0000`, then PSCI `SYSTEM_OFF` by `hvc`.
fn aarch64() -> (u64, Vec<u8>, Option<u32>) {
    const ENTRY: u64 = 0x4008_0000;
    let words: [u32; 10] = [
        0xd2a1_2001, // 0: movz x1, #0x0900, lsl #16
        0x1000_0122, // 1: adr x2, message (word 10)
        0x3840_1443, // 2: loop: ldrb w3, [x2], #1
        0x3400_0063, // 3: cbz w3, done
        0x3900_0023, // 4: strb w3, [x1]
        0x17ff_fffd, // 5: b loop
        0xd280_0100, // 6: done: movz x0, #0x0008
        0xf2b0_8000, // 7: movk x0, #0x8400, lsl #16
        0xd400_0002, // 8: hvc #0
        0x1400_0000, // 9: b .
    ];
    let mut code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    code.extend_from_slice(MESSAGE);
    (ENTRY, code, None)
}

/// `aarch64` on a Raspberry Pi 4 (QEMU raspi4b): all cores start here, so park all but the
/// first; write to the mini-UART's data register at `0xfe21_5040`; no PSCI: wait forever.
fn rpi4() -> (u64, Vec<u8>, Option<u32>) {
    const ENTRY: u64 = 0x8_0000;
    let words: [u32; 13] = [
        0xd538_00a0, //  0: mrs x0, mpidr_el1
        0x9240_1c00, //  1: and x0, x0, #0xff
        0xb500_0120, //  2: cbnz x0, park (word 11)
        0xd2bf_c421, //  3: movz x1, #0xfe21, lsl #16
        0xf28a_0801, //  4: movk x1, #0x5040
        0x1000_0102, //  5: adr x2, message (word 13)
        0x3840_1443, //  6: loop: ldrb w3, [x2], #1
        0x3400_0063, //  7: cbz w3, done
        0x3900_0023, //  8: strb w3, [x1]
        0x17ff_fffd, //  9: b loop
        0x1400_0000, // 10: done: b .
        0xd503_205f, // 11: park: wfe
        0x17ff_ffff, // 12: b park
    ];
    let mut code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    code.extend_from_slice(MESSAGE);
    (ENTRY, code, None)
}

/// The floor kernel for an architecture and board, as the bytes of an ELF file.
pub fn floor_kernel(arch: Arch, board: &str) -> Vec<u8> {
    let (entry, code, pvh_entry) = match arch {
        Arch::X86_64 => x86_64(),
        Arch::Aarch64 if board.starts_with("rpi4") => rpi4(),
        Arch::Aarch64 => aarch64(),
    };
    let machine: u16 = match arch {
        Arch::X86_64 => 62,
        Arch::Aarch64 => 183,
    };
    let note: Vec<u8> = pvh_entry.map_or_else(Vec::new, |entry| {
        let mut note = Vec::new();
        for word in [4_u32, 4, 18] {
            note.extend_from_slice(&word.to_le_bytes()); // namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY
        }
        note.extend_from_slice(b"Xen\0");
        note.extend_from_slice(&entry.to_le_bytes());
        note
    });
    let headers: u16 = if note.is_empty() { 1 } else { 2 };
    let code_offset: u64 = 64 + 56 * u64::from(headers);
    let note_offset = code_offset + code.len() as u64;
    let mut elf = Vec::new();
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    elf.extend_from_slice(&2_u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&machine.to_le_bytes());
    elf.extend_from_slice(&1_u32.to_le_bytes()); // EV_CURRENT
    elf.extend_from_slice(&entry.to_le_bytes());
    elf.extend_from_slice(&64_u64.to_le_bytes()); // program headers right after this one
    elf.extend_from_slice(&0_u64.to_le_bytes()); // no section headers
    elf.extend_from_slice(&0_u32.to_le_bytes()); // flags
    for half in [64_u16, 56, headers, 64, 0, 0] {
        elf.extend_from_slice(&half.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    let mut segment = |kind: u32, flags: u32, offset: u64, address: u64, size: u64, align: u64| {
        elf.extend_from_slice(&kind.to_le_bytes());
        elf.extend_from_slice(&flags.to_le_bytes());
        for value in [offset, address, address, size, size, align] {
            elf.extend_from_slice(&value.to_le_bytes());
        }
    };
    segment(1, 7, code_offset, entry, code.len() as u64, 4); // PT_LOAD, RWX
    if !note.is_empty() {
        segment(4, 4, note_offset, 0, note.len() as u64, 4); // PT_NOTE
    }
    elf.extend_from_slice(&code);
    elf.extend_from_slice(&note);
    elf
}
