//! GDB remote serial protocol framing: `$payload#cs` packets with a modulo-256
//! checksum, `+`/`-` acknowledgements, the interrupt byte 0x03 between packets, and
//! binary escaping (`}` then the byte XOR 0x20, for `#`, `$`, `}` and `*`).
//!
//! The decoder takes bytes as they come off the socket, in any pieces, and never fails:
//! garbage between packets is dropped, a bad checksum or an oversized packet becomes
//! `Input::Bad` (answered with `-`, the client resends).

/// Largest packet payload accepted (what `qSupported` advertises as `PacketSize`).
pub const MAX_PACKET: usize = 0x4000;

/// A unit of what the client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A packet's payload as sent (binary data still escaped: see `unescape`).
    Packet(Vec<u8>),
    /// Ctrl-C: 0x03 outside a packet.
    Interrupt,
    Ack,
    Nack,
    /// A packet with a wrong checksum, or too long: to be answered with `-`.
    Bad,
}

#[derive(Debug)]
enum State {
    Idle,
    Body,
    /// After `}` inside a packet: the next byte is data, even `#`.
    Escape,
    Check1,
    Check2(u8),
}

/// Splits a byte stream into `Input`s.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    body: Vec<u8>,
    sum: u8,
    overflow: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { state: State::Idle, body: Vec::new(), sum: 0, overflow: false }
    }
}

impl Decoder {
    /// Feed bytes; complete inputs are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Input>) {
        for &b in bytes {
            self.byte(b, out);
        }
    }

    fn start(&mut self) {
        self.state = State::Body;
        self.body.clear();
        self.sum = 0;
        self.overflow = false;
    }

    fn push(&mut self, b: u8) {
        self.sum = self.sum.wrapping_add(b);
        if self.body.len() < MAX_PACKET * 2 + 64 {
            self.body.push(b);
        } else {
            self.overflow = true;
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Input>) {
        match self.state {
            State::Idle => match b {
                b'$' => self.start(),
                b'+' => out.push(Input::Ack),
                b'-' => out.push(Input::Nack),
                0x03 => out.push(Input::Interrupt),
                _ => {} // noise between packets
            },
            State::Body => match b {
                b'#' => self.state = State::Check1,
                // A `$` inside a packet cannot be data (it is sent escaped): the client
                // started over.
                b'$' => self.start(),
                b'}' => {
                    self.push(b);
                    self.state = State::Escape;
                }
                _ => self.push(b),
            },
            State::Escape => {
                self.push(b);
                self.state = State::Body;
            }
            State::Check1 => match hex_digit(b) {
                Some(h) => self.state = State::Check2(h),
                None => {
                    self.state = State::Idle;
                    out.push(Input::Bad);
                }
            },
            State::Check2(h) => {
                self.state = State::Idle;
                match hex_digit(b) {
                    Some(l) if (h << 4 | l) == self.sum && !self.overflow => out.push(Input::Packet(std::mem::take(&mut self.body))),
                    _ => out.push(Input::Bad),
                }
            }
        }
    }
}

/// The modulo-256 sum of `bytes`.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b))
}

/// `payload` framed for the wire: `$`, the payload with `#`, `$`, `}` and `*` escaped
/// (the client would read `*` as run-length encoding), `#`, the checksum.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let body = escape(payload);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(b'$');
    out.extend_from_slice(&body);
    out.push(b'#');
    out.extend_from_slice(format!("{:02x}", checksum(&body)).as_bytes());
    out
}

/// Binary data escaped for a packet.
pub fn escape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for &b in data {
        if matches!(b, b'#' | b'$' | b'}' | b'*') {
            out.push(b'}');
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
    }
    out
}

/// Binary data of a packet (`X`, `vFlashWrite`) unescaped; None when it ends in a lone `}`.
pub fn unescape(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut it = data.iter();
    while let Some(&b) = it.next() {
        if b == b'}' {
            out.push(it.next()? ^ 0x20);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

pub fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Bytes as lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Hex text as bytes; None for an odd length or a non-hex digit.
pub fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() & 1 == 1 {
        return None;
    }
    text.chunks(2).map(|p| Some(hex_digit(p[0])? << 4 | hex_digit(p[1])?)).collect()
}

/// A hex number (an address, a length, a register number): 1–16 digits, no prefix.
pub fn parse_hex_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    text.iter().try_fold(0u64, |v, &b| Some(v << 4 | hex_digit(b)? as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Vec<Input> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.feed(bytes, &mut out);
        out
    }

    #[test]
    fn frames_packets_with_their_checksum() {
        assert_eq!(frame(b"OK"), b"$OK#9a");
        assert_eq!(frame(b""), b"$#00");
        assert_eq!(checksum(b"qSupported"), 0x37);
        assert_eq!(decode(b"$qSupported#37"), vec![Input::Packet(b"qSupported".to_vec())]);
        // Checksums in either case.
        assert_eq!(decode(b"$OK#9A"), vec![Input::Packet(b"OK".to_vec())]);
    }

    #[test]
    fn acks_interrupts_and_noise_between_packets() {
        assert_eq!(decode(b"+\x03-xyz$g#67+"), vec![Input::Ack, Input::Interrupt, Input::Nack, Input::Packet(b"g".to_vec()), Input::Ack]);
    }

    #[test]
    fn packets_may_arrive_in_any_pieces() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for piece in [&b"$m2000"[..], b"0000,4", b"#", b"4", b"f$?#3f"] {
            d.feed(piece, &mut out);
        }
        assert_eq!(out, vec![Input::Packet(b"m20000000,4".to_vec()), Input::Packet(b"?".to_vec())]);
        assert_eq!(checksum(b"m20000000,4"), 0x4f);
    }

    #[test]
    fn a_wrong_checksum_or_a_bad_digit_is_answered_not_fatal() {
        assert_eq!(decode(b"$g#00"), vec![Input::Bad]);
        assert_eq!(decode(b"$g#zz$g#67"), vec![Input::Bad, Input::Packet(b"g".to_vec())]);
        assert_eq!(decode(b"$g#6"), vec![], "incomplete: waits for more");
    }

    #[test]
    fn a_dollar_inside_a_packet_starts_over() {
        assert_eq!(decode(b"$garbage$g#67"), vec![Input::Packet(b"g".to_vec())]);
    }

    #[test]
    fn escaped_bytes_survive_framing() {
        // 0x03 inside a packet is data, not an interrupt; `}#` hides a `#`.
        let data = [b'#', b'$', b'}', b'*', 0x03, b'a'];
        let wire = frame(&[b"X0,6:".as_slice(), &data].concat());
        let got = decode(&wire);
        let Input::Packet(p) = &got[0] else { panic!("{got:?}") };
        assert_eq!(got.len(), 1);
        assert_eq!(unescape(&p[5..]).unwrap(), data);
        assert_eq!(escape(b"}"), b"}]");
        assert_eq!(escape(b"#$*"), b"}\x03}\x04}\x0a");
        assert_eq!(unescape(b"ab}"), None, "a lone escape at the end");
    }

    #[test]
    fn oversized_packets_are_refused() {
        let mut wire = b"$".to_vec();
        wire.extend(vec![b'a'; MAX_PACKET * 3]);
        wire.extend_from_slice(format!("#{:02x}", checksum(&wire[1..])).as_bytes());
        assert_eq!(decode(&wire), vec![Input::Bad]);
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(to_hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(from_hex(b"00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(from_hex(b"0"), None);
        assert_eq!(from_hex(b"0g"), None);
        assert_eq!(parse_hex_u64(b"20000400"), Some(0x2000_0400));
        assert_eq!(parse_hex_u64(b""), None);
        assert_eq!(parse_hex_u64(b"12345678901234567"), None);
        assert_eq!(parse_hex_u64(b"-1"), None);
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small deterministic generator: every byte value, in many orders.
        let mut x: u32 = 0x1234_5678;
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for _ in 0..200_000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let b = match (x >> 28) & 7 {
                0 => b'$',
                1 => b'#',
                2 => b'}',
                _ => (x >> 16) as u8,
            };
            d.feed(&[b], &mut out);
        }
        assert!(!out.is_empty());
    }
}
