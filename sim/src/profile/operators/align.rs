//! Lining a bundle's calls up with the model's operators by kind and order.
//!
//! A compiler such as Glow makes one call per operator it kept, in model order, but it
//! elides some operators (RESHAPE becomes a view of its input tensor) and may inline
//! others into the entry function, and one kernel can serve several operator kinds
//! (Glow lowers CONV_2D and DEPTHWISE_CONV_2D to one channelwise convolution). So the
//! calls are a subsequence of the operators, each call compatible with its operator's
//! kind. Among the alignments, the one that leaves the fewest non-elidable operators
//! without a call is taken (an operator left out that is not a view was inlined).

/// Where each model operator's cycles come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Call `i` runs it.
    Call(usize),
    /// No call: a view the compiler elided (0 cycles).
    Elided,
    /// No call, and not a view: the compiler inlined it (or left it out).
    Inlined,
}

/// Align `calls` (each the operator kinds it may run; empty: any) with the model's
/// operator kinds `ops`. `elidable(kind)` says which operators need no code. None when the
/// calls cannot be a subsequence of the operators (too many calls, or a call whose kind
/// no remaining operator has).
pub fn align(calls: &[&[&str]], ops: &[&str], elidable: impl Fn(&str) -> bool) -> Option<Vec<Slot>> {
    let (m, n) = (calls.len(), ops.len());
    if m > n {
        return None;
    }
    const INF: u32 = u32::MAX / 2;
    let skip = |j: usize| u32::from(!elidable(ops[j]));
    let fits = |i: usize, j: usize| calls[i].is_empty() || calls[i].contains(&ops[j]);
    // cost[i][j]: fewest inlined operators when the first i calls run among the first j operators.
    let mut cost = vec![vec![INF; n + 1]; m + 1];
    cost[0][0] = 0;
    for j in 1..=n {
        cost[0][j] = cost[0][j - 1] + skip(j - 1);
    }
    for i in 1..=m {
        for j in i..=n {
            let by_skip = cost[i][j - 1].saturating_add(skip(j - 1));
            let by_call = if fits(i - 1, j - 1) { cost[i - 1][j - 1] } else { INF };
            cost[i][j] = by_skip.min(by_call).min(INF);
        }
    }
    if cost[m][n] >= INF {
        return None;
    }
    // Back from the end, preferring a call over a skip at equal cost.
    let mut slots = vec![Slot::Elided; n];
    let (mut i, mut j) = (m, n);
    while j > 0 {
        if i > 0 && fits(i - 1, j - 1) && cost[i - 1][j - 1] == cost[i][j] {
            slots[j - 1] = Slot::Call(i - 1);
            i -= 1;
        } else {
            slots[j - 1] = if elidable(ops[j - 1]) { Slot::Elided } else { Slot::Inlined };
        }
        j -= 1;
    }
    Some(slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONV: &[&str] = &["CONV_2D", "DEPTHWISE_CONV_2D"];
    const POOL: &[&str] = &["AVERAGE_POOL_2D"];
    const FC: &[&str] = &["FULLY_CONNECTED"];
    const SOFTMAX: &[&str] = &["SOFTMAX"];

    fn kws() -> Vec<&'static str> {
        let mut v = vec!["CONV_2D"];
        for _ in 0..4 {
            v.extend(["DEPTHWISE_CONV_2D", "CONV_2D"]);
        }
        v.extend(["AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]);
        v
    }

    fn reshape(k: &str) -> bool {
        k == "RESHAPE"
    }

    #[test]
    fn an_elided_reshape_is_an_alias_not_a_shift() {
        // Glow's KWS bundle: 9 convolutions, pool, FC, softmax: 12 calls for 13 operators.
        let mut calls = vec![CONV; 9];
        calls.extend([POOL, FC, SOFTMAX]);
        let s = align(&calls, &kws(), reshape).unwrap();
        assert_eq!(s[..10], (0..10).map(Slot::Call).collect::<Vec<_>>()[..]);
        assert_eq!((s[10], s[11], s[12]), (Slot::Elided, Slot::Call(10), Slot::Call(11)));
    }

    #[test]
    fn a_kernel_without_a_call_is_inlined() {
        // glow_specialized: SOFTMAX inlined into the entry, 11 calls.
        let mut calls = vec![CONV; 9];
        calls.extend([POOL, FC]);
        let s = align(&calls, &kws(), reshape).unwrap();
        assert_eq!((s[10], s[11], s[12]), (Slot::Elided, Slot::Call(10), Slot::Inlined));
        // An unknown kernel (empty kinds) fits any operator.
        let mut calls = vec![CONV; 9];
        calls.extend([&[][..], FC, SOFTMAX]);
        assert_eq!(align(&calls, &kws(), reshape).unwrap()[9], Slot::Call(9));
    }

    #[test]
    fn calls_that_do_not_fit_the_model_are_refused() {
        // More calls than operators (a TFLM CMSIS-NN firmware's 41 arm_* calls would be).
        assert_eq!(align(&vec![CONV; 14], &kws(), reshape), None);
        // A kind the remaining operators do not have: softmax before the pool.
        let mut calls = vec![CONV; 9];
        calls.extend([SOFTMAX, POOL]);
        assert_eq!(align(&calls, &kws(), reshape), None);
        // Nothing to match is fine: every operator inlined or elided.
        let s = align(&[], &["RESHAPE", "ADD"], reshape).unwrap();
        assert_eq!(s, vec![Slot::Elided, Slot::Inlined]);
    }

    #[test]
    fn the_fewest_inlined_operators_win() {
        // A conv and a pool call among CONV, POOL, CONV, POOL: two operators are inlined
        // whichever way; at equal cost the later operators get the calls.
        let s = align(&[CONV, POOL], &["CONV_2D", "AVERAGE_POOL_2D", "CONV_2D", "AVERAGE_POOL_2D"], reshape).unwrap();
        assert_eq!(s.iter().filter(|x| **x == Slot::Inlined).count(), 2);
        assert_eq!(s[3], Slot::Call(1));
    }
}
