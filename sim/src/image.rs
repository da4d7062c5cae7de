//! Firmware images: what an ELF puts where, and the names of its code.
//!
//! Loading follows what a debugger's `load` does on a board: each PT_LOAD segment's file
//! bytes go to its physical address (LMA). Copying `.data` to RAM and zeroing `.bss` is the
//! firmware's own start-up code's job, as on hardware.

use crate::error::SimError;
use goblin::elf::{header, program_header, sym, Elf};

/// Largest firmware file simbench reads (a Cortex-M image is a few MiB at most).
pub const MAX_ELF_BYTES: u64 = 256 << 20;

/// One loadable piece of the image.
#[derive(Clone, Debug)]
pub struct Segment {
    pub paddr: u32,
    pub vaddr: u32,
    pub data: Vec<u8>,
    pub mem_size: u32,
    pub executable: bool,
}

/// An allocated ELF section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// Run-time (virtual) address.
    pub addr: u32,
    pub size: u32,
    /// Where its bytes are stored in the image when that differs from `addr` or not
    /// (None for NOBITS sections such as `.bss`).
    pub load_addr: Option<u32>,
    pub nobits: bool,
}

/// A function or object symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// Address with the Thumb bit cleared.
    pub addr: u32,
    pub size: u32,
    pub is_func: bool,
}

/// A parsed firmware image.
#[derive(Clone, Debug)]
pub struct Image {
    pub entry: u32,
    pub segments: Vec<Segment>,
    /// Allocated sections (SHF_ALLOC), in address order.
    pub sections: Vec<Section>,
    /// Sorted by address.
    pub symbols: Vec<Symbol>,
}

/// Read a firmware file, refusing anything larger than [`MAX_ELF_BYTES`].
pub fn read_firmware(path: &std::path::Path) -> Result<Vec<u8>, SimError> {
    let unreadable = |e: std::io::Error| SimError::Io(format!("cannot read firmware '{}': {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if meta.len() > MAX_ELF_BYTES {
        return Err(bad(format!("'{}' is {} bytes; simbench reads firmware up to {} MiB", path.display(), meta.len(), MAX_ELF_BYTES >> 20)));
    }
    std::fs::read(path).map_err(unreadable)
}

fn bad(msg: impl Into<String>) -> SimError {
    SimError::BadElf(msg.into())
}

impl Image {
    /// Read and parse a firmware file.
    pub fn from_file(path: &std::path::Path) -> Result<Image, SimError> {
        Image::parse(&read_firmware(path)?)
    }

    /// Parse an ELF held in memory. Checks the header by hand first so each kind of
    /// wrong file gets its own message; never panics on malformed input.
    pub fn parse(bytes: &[u8]) -> Result<Image, SimError> {
        if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
            return Err(bad("not an ELF file (no \\x7fELF magic). Pass the linker's .elf/.axf output, not a .bin or .hex"));
        }
        if bytes.len() < 52 {
            return Err(bad(format!("truncated ELF: {} bytes, shorter than a 32-bit ELF header (52)", bytes.len())));
        }
        match bytes[header::EI_CLASS] {
            header::ELFCLASS32 => {}
            header::ELFCLASS64 => return Err(bad("this is a 64-bit ELF (ELFCLASS64); Cortex-M firmware is 32-bit ARM. Did you pass a host binary?")),
            c => return Err(bad(format!("invalid ELF class byte {c}"))),
        }
        match bytes[header::EI_DATA] {
            header::ELFDATA2LSB => {}
            header::ELFDATA2MSB => return Err(bad("big-endian ELF; simbench models little-endian Cortex-M cores")),
            d => return Err(bad(format!("invalid ELF data-encoding byte {d}"))),
        }
        let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
        if machine != header::EM_ARM {
            return Err(bad(format!(
                "ELF machine is {} ({machine}), not ARM (40). Build the firmware for a Cortex-M target (arm-none-eabi-gcc -mcpu=cortex-m7 …)",
                header::machine_to_str(machine)
            )));
        }
        match u16::from_le_bytes([bytes[16], bytes[17]]) {
            header::ET_EXEC => {}
            header::ET_REL => {
                return Err(bad("this is a relocatable object (ET_REL, a .o file): its code is not linked to addresses yet. Link it into an executable with a board linker script (runtime/boards/*.ld)"))
            }
            t => return Err(bad(format!("ELF type {} ({t}): simbench runs linked executables (ET_EXEC)", header::et_to_str(t)))),
        }
        // goblin is careful, but a panic on hostile input must still become an error.
        let parsed = std::panic::catch_unwind(|| Elf::parse(bytes).map(|elf| Image::from_elf(&elf, bytes)));
        match parsed {
            Ok(Ok(image)) => image,
            Ok(Err(e)) => Err(bad(format!("malformed or truncated ELF: {e}"))),
            Err(_) => Err(bad("malformed ELF (the parser gave up)")),
        }
    }

    fn from_elf(elf: &Elf, bytes: &[u8]) -> Result<Image, SimError> {
        let mut segments = Vec::new();
        for ph in elf.program_headers.iter().filter(|p| p.p_type == program_header::PT_LOAD) {
            if ph.p_filesz == 0 {
                continue;
            }
            let end = ph.p_offset.checked_add(ph.p_filesz).filter(|&e| e <= bytes.len() as u64).ok_or_else(|| {
                bad(format!("truncated ELF: a segment's bytes [{:#x}, +{:#x}) lie past the end of the {}-byte file", ph.p_offset, ph.p_filesz, bytes.len()))
            })?;
            // The memory size counts too: a section's load address below is paddr plus its
            // offset in the segment (up to memsz), which overflowed u32 when paddr + memsz
            // passed 4 GiB (found by fuzzing, fuzz/README.md).
            let span = ph.p_filesz.max(ph.p_memsz);
            if ph.p_paddr.checked_add(span).is_none_or(|e| e > 1 << 32) {
                return Err(bad(format!("segment at {:#x} size {:#x} does not fit the 32-bit address space", ph.p_paddr, span)));
            }
            segments.push(Segment {
                paddr: ph.p_paddr as u32,
                vaddr: ph.p_vaddr as u32,
                data: bytes[ph.p_offset as usize..end as usize].to_vec(),
                mem_size: ph.p_memsz as u32,
                executable: ph.p_flags & program_header::PF_X != 0,
            });
        }
        if segments.is_empty() {
            return Err(bad("the ELF has no loadable segment with contents (PT_LOAD with file bytes): nothing to run"));
        }
        // Two segments loading different bytes at the same address: which one wins would
        // be an accident of load order, so refuse (identical overlaps are harmless).
        for (i, a) in segments.iter().enumerate() {
            for b in &segments[..i] {
                let (start, end) = (a.paddr.max(b.paddr) as u64, (a.paddr as u64 + a.data.len() as u64).min(b.paddr as u64 + b.data.len() as u64));
                if start < end {
                    fn slice(s: &Segment, start: u64, end: u64) -> &[u8] {
                        &s.data[(start - s.paddr as u64) as usize..(end - s.paddr as u64) as usize]
                    }
                    if slice(a, start, end) != slice(b, start, end) {
                        return Err(bad(format!(
                            "two loadable segments overlap at {start:#010x}–{end:#010x} with different contents (segments at {:#010x} and {:#010x}); check the linker script's LMAs",
                            b.paddr, a.paddr
                        )));
                    }
                }
            }
        }
        let mut symbols: Vec<Symbol> = elf
            .syms
            .iter()
            .filter(|s| matches!(s.st_type(), sym::STT_FUNC | sym::STT_OBJECT | sym::STT_NOTYPE) && s.st_shndx != 0)
            .filter_map(|s| {
                let name = elf.strtab.get_at(s.st_name)?;
                // Skip mapping symbols ($t, $d) and empty names.
                if name.is_empty() || name.starts_with('$') {
                    return None;
                }
                let is_func = s.st_type() == sym::STT_FUNC;
                let addr = if is_func { (s.st_value as u32) & !1 } else { s.st_value as u32 };
                Some(Symbol { name: name.to_string(), addr, size: s.st_size as u32, is_func })
            })
            .collect();
        symbols.sort_by(|a, b| (a.addr, !a.is_func, &a.name).cmp(&(b.addr, !b.is_func, &b.name)));
        let mut sections: Vec<Section> = elf
            .section_headers
            .iter()
            .filter(|sh| sh.sh_flags & goblin::elf::section_header::SHF_ALLOC as u64 != 0 && sh.sh_size > 0)
            .filter_map(|sh| {
                let name = elf.shdr_strtab.get_at(sh.sh_name)?.to_string();
                let addr = u32::try_from(sh.sh_addr).ok()?;
                let size = u32::try_from(sh.sh_size).ok()?;
                let nobits = sh.sh_type == goblin::elf::section_header::SHT_NOBITS;
                // Load address: the segment holding the section's file bytes maps VMA to LMA.
                let load_addr = if nobits {
                    None
                } else {
                    segments
                        .iter()
                        .find(|s| addr >= s.vaddr && (addr as u64) < s.vaddr as u64 + s.mem_size.max(s.data.len() as u32) as u64)
                        .map(|s| s.paddr + (addr - s.vaddr))
                };
                Some(Section { name, addr, size, load_addr, nobits })
            })
            .collect();
        sections.sort_by(|a, b| (a.addr, &a.name).cmp(&(b.addr, &b.name)));
        Ok(Image { entry: elf.entry as u32, segments, sections, symbols })
    }

    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|s| s.name == name)
    }

    /// The address of the first of `names` the ELF defines: linker scripts name the same
    /// boundary differently (GNU Arm's `__StackLimit`, simbench's `__stack_limit__`).
    pub fn first_symbol_addr(&self, names: &[&str]) -> Option<u32> {
        names.iter().find_map(|n| self.symbol(n).map(|s| s.addr))
    }

    /// A symbol with a size by its ELF name, else by its demangled name (what users and
    /// reports write for C++ functions and `static` arrays).
    pub fn sized_symbol(&self, name: &str) -> Option<&Symbol> {
        let sized = || self.symbols.iter().filter(|s| s.size > 0);
        sized().find(|s| s.name == name).or_else(|| sized().find(|s| crate::profile::callstack::demangle(&s.name) == name))
    }

    /// The function symbol whose entry is exactly `addr`.
    pub fn function_starting_at(&self, addr: u32) -> Option<&Symbol> {
        let idx = self.symbols.partition_point(|s| s.addr < addr);
        self.symbols[idx..].iter().take_while(|s| s.addr == addr).find(|s| s.is_func)
    }

    /// `name+0xoff` for an address inside a function, for error messages.
    pub fn describe(&self, addr: u32) -> String {
        let idx = self.symbols.partition_point(|s| s.addr <= addr);
        let best = self.symbols[..idx].iter().rev().find(|s| s.is_func && (addr < s.addr.saturating_add(s.size.max(1)) || s.size == 0));
        match best {
            Some(s) if addr == s.addr => s.name.clone(),
            Some(s) => format!("{}+{:#x}", s.name, addr - s.addr),
            None => "no symbol".to_string(),
        }
    }

    /// Read a little-endian word from the image's load contents.
    pub fn read_word(&self, addr: u32) -> Option<u32> {
        self.segments.iter().find_map(|s| {
            let off = addr.checked_sub(s.paddr)? as usize;
            let b = s.data.get(off..off + 4)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        })
    }

    /// Lowest address of executable contents.
    pub fn lowest_code_addr(&self) -> Option<u32> {
        self.segments.iter().filter(|s| s.executable).map(|s| s.paddr).min()
    }
}
