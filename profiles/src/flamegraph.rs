//! A small flame-graph SVG writer: call-tree samples in, one standalone SVG document out.
//!
//! Written for simbench (GPL-2.0-or-later), with no third-party code. The layout is the
//! classic one: the root frame at the bottom spanning the whole width, each call path one
//! frame above its caller, every frame as wide as its inclusive count. Children sit at the
//! left of their parent, ordered by name; the caller's own (exclusive) share is the gap on
//! the right. Each frame is a `<g>` with a `<title>` (shown on hover by every SVG viewer),
//! a `<rect>` and, when the frame is wide enough, a `<text>` label cut to fit. No
//! JavaScript, no fonts to load, no randomness: the same input gives the same bytes.

use crate::profile::StackSample;
use crate::render::group;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Width of the image, px.
pub const WIDTH: f64 = 1200.0;
/// Height of one frame row, px (the rectangle is one pixel shorter: a gap between rows).
pub const FRAME_HEIGHT: f64 = 16.0;
/// Left and right margin, px.
const XPAD: f64 = 10.0;
/// Space below the lowest row, px.
const BOTTOM_PAD: f64 = 10.0;
/// Label font size, px, and the width of an average character at that size (Verdana-ish).
const FONT_SIZE: f64 = 12.0;
const CHAR_WIDTH: f64 = FONT_SIZE * 0.59;
/// Frames narrower than this are not drawn (nor anything above them).
const MIN_WIDTH: f64 = 0.1;

/// What to draw around the frames.
#[derive(Clone, Debug)]
pub struct Options {
    /// First line, centred at the top.
    pub title: String,
    /// Optional second line, under the title.
    pub subtitle: Option<String>,
    /// Name of the root frame (`all` in classic flame graphs).
    pub root: String,
    /// Unit of the counts, in the frame titles (`cycles`).
    pub count_name: String,
}

impl Default for Options {
    fn default() -> Self {
        Options { title: "Flame graph".into(), subtitle: None, root: "all".into(), count_name: "samples".into() }
    }
}

/// One frame of the merged call tree.
#[derive(Debug)]
struct Node {
    name: String,
    /// Count of the frame's own code.
    own: u64,
    /// Own plus every descendant.
    total: u64,
    parent: Option<usize>,
    /// Children by name: merged prefixes, and a deterministic order.
    children: BTreeMap<String, usize>,
}

/// The call tree of `stacks`: equal prefixes merged, index 0 the root. A sample with an
/// empty stack counts towards the root's own total. Parents always precede their children.
fn build_tree(root: &str, stacks: &[StackSample]) -> Vec<Node> {
    let mut nodes = vec![Node { name: root.to_string(), own: 0, total: 0, parent: None, children: BTreeMap::new() }];
    for sample in stacks {
        let mut at = 0;
        for frame in &sample.stack {
            at = match nodes[at].children.get(frame) {
                Some(&child) => child,
                None => {
                    let child = nodes.len();
                    nodes.push(Node { name: frame.clone(), own: 0, total: 0, parent: Some(at), children: BTreeMap::new() });
                    nodes[at].children.insert(frame.clone(), child);
                    child
                }
            };
        }
        nodes[at].own = nodes[at].own.saturating_add(sample.exclusive_cycles);
    }
    // Children have higher indices than their parent: one pass from the end sums totals.
    for i in (0..nodes.len()).rev() {
        nodes[i].total = nodes[i].total.saturating_add(nodes[i].own);
        if let Some(p) = nodes[i].parent {
            nodes[p].total = nodes[p].total.saturating_add(nodes[i].total);
        }
    }
    nodes
}

/// FNV-1a, 32 bits: a stable hash (same on every machine and release) for the colours.
pub fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A warm colour (reds, oranges, yellows) chosen by the name alone.
pub fn colour(name: &str) -> (u8, u8, u8) {
    let h = fnv1a(name);
    let r = 205 + (h % 51) as u8;
    let g = ((h >> 8) % 231) as u8;
    let b = ((h >> 20) % 56) as u8;
    (r, g, b)
}

/// Text safe inside XML content and attribute values: the five special characters as
/// entities; characters XML 1.0 does not allow (controls, U+FFFE/U+FFFF) replaced.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The label of a frame `width` px wide: the whole name, the name cut with `..`, or
/// nothing when fewer than three characters would fit.
fn label(name: &str, width: f64) -> Option<String> {
    let fits = ((width - 6.0) / CHAR_WIDTH).floor();
    if fits < 3.0 {
        return None;
    }
    let fits = fits as usize;
    if name.chars().count() <= fits {
        Some(name.to_string())
    } else {
        let mut cut: String = name.chars().take(fits - 2).collect();
        cut.push_str("..");
        Some(cut)
    }
}

/// The flame graph of `stacks` as a standalone SVG document.
pub fn write(opts: &Options, stacks: &[StackSample]) -> String {
    let nodes = build_tree(&opts.root, stacks);
    let total = nodes[0].total;
    let span = WIDTH - 2.0 * XPAD;
    let scale = if total > 0 { span / total as f64 } else { 0.0 };

    // Frames to draw, in pre-order: (node, offset of its left edge in counts, depth).
    // Frames narrower than MIN_WIDTH are dropped with everything above them.
    let mut frames: Vec<(usize, u64, usize)> = Vec::new();
    let mut todo = vec![(0usize, 0u64, 0usize)];
    while let Some((i, offset, depth)) = todo.pop() {
        let node = &nodes[i];
        if i != 0 && node.total as f64 * scale < MIN_WIDTH {
            continue;
        }
        frames.push((i, offset, depth));
        let mut next = offset;
        let mut kids = Vec::with_capacity(node.children.len());
        for &c in node.children.values() {
            kids.push((c, next, depth + 1));
            next += nodes[c].total;
        }
        // Reversed so that the first child (by name) is drawn first.
        todo.extend(kids.into_iter().rev());
    }
    let rows = frames.iter().map(|f| f.2).max().unwrap_or(0) + 1;

    let top = if opts.subtitle.is_some() { 56.0 } else { 36.0 };
    let height = top + rows as f64 * FRAME_HEIGHT + BOTTOM_PAD;
    let mut s = String::with_capacity(256 + frames.len() * 220);
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#);
    let _ = writeln!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#, w = WIDTH, h = height);
    let _ = writeln!(
        s,
        "<style>text{{font-family:Verdana,'DejaVu Sans',sans-serif;font-size:{FONT_SIZE}px;fill:#000}}\
         .title{{font-size:17px;text-anchor:middle}}.subtitle{{fill:#555;text-anchor:middle}}\
         rect.f{{stroke:#fff;stroke-width:0.25}}g:hover rect.f{{stroke:#000;stroke-width:0.5}}</style>"
    );
    let _ = writeln!(s, r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fbfaf5"/>"##);
    let _ = writeln!(s, r#"<text class="title" x="{}" y="24">{}</text>"#, WIDTH / 2.0, xml_escape(&opts.title));
    if let Some(sub) = &opts.subtitle {
        let _ = writeln!(s, r#"<text class="subtitle" x="{}" y="44">{}</text>"#, WIDTH / 2.0, xml_escape(sub));
    }
    for &(i, offset, depth) in &frames {
        let node = &nodes[i];
        let x = XPAD + offset as f64 * scale;
        let w = if total > 0 { node.total as f64 * scale } else { span };
        // Root at the bottom: row 0 is the lowest.
        let y = top + (rows - 1 - depth) as f64 * FRAME_HEIGHT;
        let pct = if total > 0 { 100.0 * node.total as f64 / total as f64 } else { 0.0 };
        let (r, g, b) = colour(&node.name);
        let _ = write!(
            s,
            r#"<g><title>{} ({} {}, {:.2}%)</title><rect class="f" x="{:.2}" y="{}" width="{:.2}" height="{}" rx="2" fill="rgb({},{},{})"/>"#,
            xml_escape(&node.name),
            group(node.total),
            xml_escape(&opts.count_name),
            pct,
            x,
            y,
            w,
            FRAME_HEIGHT - 1.0,
            r,
            g,
            b
        );
        if let Some(text) = label(&node.name, w) {
            let _ = write!(s, r#"<text x="{:.2}" y="{:.1}">{}</text>"#, x + 3.0, y + 11.5, xml_escape(&text));
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(stack: &[&str], n: u64) -> StackSample {
        StackSample { stack: stack.iter().map(|s| s.to_string()).collect(), exclusive_cycles: n }
    }

    #[test]
    fn tree_merges_prefixes_and_sums_inclusive() {
        let stacks = [sample(&["main"], 10), sample(&["main", "b"], 5), sample(&["main", "a"], 7), sample(&["main", "b"], 3), sample(&[], 2)];
        let t = build_tree("all", &stacks);
        assert_eq!(t.len(), 4);
        assert_eq!((t[0].own, t[0].total), (2, 27));
        let main = t[0].children["main"];
        assert_eq!((t[main].own, t[main].total), (10, 25));
        let b = t[main].children["b"];
        assert_eq!((t[b].own, t[b].total), (8, 8));
        // By name, not by first appearance.
        assert_eq!(t[main].children.keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv1a(""), 0x811c_9dc5);
        assert_eq!(fnv1a("a"), 0xe40c_292c);
        assert_eq!(fnv1a("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn colours_are_warm() {
        for name in ["main", "Invoke", "arm_convolve_s8", "", "x"] {
            let (r, g, b) = colour(name);
            assert!(r >= 205 && g <= 230 && b <= 55, "{name}: {r},{g},{b}");
        }
    }

    #[test]
    fn labels_fit_or_are_left_out() {
        assert_eq!(label("main", 200.0).as_deref(), Some("main"));
        assert_eq!(label("main", 10.0), None);
        let cut = label("a_rather_long_function_name", 60.0).unwrap();
        assert!(cut.ends_with("..") && cut.chars().count() as f64 * CHAR_WIDTH <= 60.0 - 6.0, "{cut}");
        // Cut on character boundaries.
        assert!(label("ééééééééééééééééééééé", 60.0).unwrap().ends_with(".."));
    }

    #[test]
    fn xml_escape_specials() {
        assert_eq!(xml_escape(r#"a<&>"'b"#), "a&lt;&amp;&gt;&quot;&apos;b");
        assert_eq!(xml_escape("x\u{1}y"), "x y");
    }

    #[test]
    fn narrow_frames_are_dropped_and_zero_total_is_valid() {
        let stacks = [sample(&["big"], 100_000_000), sample(&["tiny"], 1)];
        let text = write(&Options::default(), &stacks);
        assert!(text.contains("<title>big ("));
        assert!(!text.contains("tiny"));
        let text = write(&Options::default(), &[]);
        assert!(text.contains("<title>all (0 samples, 0.00%)</title>"), "{text}");
    }
}
