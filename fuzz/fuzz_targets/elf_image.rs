//! ELF loader: `Image::parse` on arbitrary bytes, then every query the simulator makes of a
//! parsed image, with addresses taken from the image itself and from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbench_cores::board::Board;
use simbench_sim::image::Image;
use simbench_sim::machine::reset_vector;
use std::sync::OnceLock;

fn board() -> &'static Board {
    static BOARD: OnceLock<Board> = OnceLock::new();
    BOARD.get_or_init(|| Board::preset("generic-m7").expect("generic-m7 preset"))
}

fn probe(img: &Image, addr: u32) {
    let _ = img.describe(addr);
    let _ = img.read_word(addr);
    let _ = img.function_starting_at(addr);
}

/// `SIMBENCH_FUZZ_VERBOSE=1` prints what each input got to (for checking seeds).
fn verbose() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("SIMBENCH_FUZZ_VERBOSE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let img = match Image::parse(data) {
        Ok(img) => img,
        Err(e) => {
            if verbose() {
                eprintln!("parse: {e}");
            }
            return;
        }
    };
    if verbose() {
        eprintln!("parsed: {} segments, {} sections, {} symbols", img.segments.len(), img.sections.len(), img.symbols.len());
    }
    let _ = img.lowest_code_addr();
    // Addresses from the image: edges of segments, sections and symbols.
    let mut addrs = vec![0, 1, 3, u32::MAX, u32::MAX - 3, img.entry, img.entry & !1];
    for s in &img.segments {
        addrs.extend([s.paddr, s.vaddr, s.paddr.wrapping_add(s.data.len() as u32).wrapping_sub(4), s.paddr.wrapping_add(s.mem_size)]);
    }
    for s in &img.sections {
        addrs.extend([s.addr, s.addr.wrapping_add(s.size), s.load_addr.unwrap_or(0)]);
    }
    for s in img.symbols.iter().take(256) {
        addrs.extend([s.addr, s.addr.wrapping_add(s.size), s.addr.wrapping_add(s.size).wrapping_sub(1)]);
        let _ = img.symbol(&s.name);
    }
    // …and from the input's last bytes.
    for w in data.rchunks_exact(4).take(16) {
        addrs.push(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    for &a in &addrs {
        probe(&img, a);
    }
    let b = board();
    let _ = reset_vector(&img, b, None);
    for &a in addrs.iter().take(8) {
        let _ = reset_vector(&img, b, Some(a));
    }
});
