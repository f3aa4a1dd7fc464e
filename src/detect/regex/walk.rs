//! Walking the text through the forward DFA several stretches at a time.
//!
//! A DFA step is one table load whose address depends on the previous step's result, so a single
//! walk runs at that load's latency (about 20 cycles a byte here, the hot part of the table being
//! larger than L1) however tight the loop. Walking [`LANES`] stretches of the text in one loop
//! gives the CPU independent chains of loads to overlap. A stretch's walk starts `longest` bytes
//! (the longest possible match) before the first end it answers for, so it finds every match
//! ending in its stretch; the ends are then handed on stretch after stretch, in the order a single
//! walk would have found them. The text goes through in blocks, so the ends buffered before being
//! handed on stay bounded whatever its length.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::{Input, MatchError, PatternID};

use crate::detect::DetectError;

/// Stretches walked at once: enough independent loads to cover the latency of one.
const LANES: usize = 4;
/// Bytes per stretch. Each stretch re-walks `longest` bytes before it, so stretches are long
/// enough to make that small, and short enough to bound the buffered ends.
const LANE_BYTES: usize = 32 << 10;

/// One stretch's walk: reports ends in `(lo, hi]`, consuming bytes from `at` up to `stop`.
struct Lane {
    sid: LazyStateID,
    at: usize,
    stop: usize,
    lo: usize,
    /// The stretch ends the text: the end-of-input transition follows the last byte.
    last: bool,
    ends: Vec<(usize, PatternID)>,
}

/// Calls `each(end, pattern)` for every `(pattern, end)` at which a match of a DFA pattern ends
/// in `text`, in ascending order of end (patterns of one end in the DFA's order). `longest` must
/// bound the length of every match of every pattern.
pub(super) fn match_ends(
    dfa: &DFA,
    cache: &mut Cache,
    text: &str,
    longest: usize,
    mut each: impl FnMut(usize, PatternID) -> Result<(), DetectError>,
) -> Result<(), DetectError> {
    let len = text.len();
    let mut block = 0;
    let mut lanes: [Lane; LANES] = std::array::from_fn(|_| Lane {
        sid: LazyStateID::default(),
        at: 0,
        stop: 0,
        lo: 0,
        last: false,
        ends: Vec::new(),
    });
    loop {
        let block_end = (block + LANES * LANE_BYTES).min(len);
        let share = (block_end - block).div_ceil(LANES);
        // Splitting only pays when each stretch is long next to the bytes it re-walks.
        let used = if share >= 4 * longest.max(1) {
            LANES
        } else {
            1
        };
        let share = if used == 1 { block_end - block } else { share };
        let spans: [(usize, usize); LANES] = std::array::from_fn(|k| {
            let lo = (block + k * share).min(block_end);
            let hi = if k + 1 == used {
                block_end
            } else {
                (lo + share).min(block_end)
            };
            (lo, hi)
        });
        // A state id means nothing once the cache has been cleared (it fills up on varied text).
        // The library carries the state of the step that clears it over into the new cache, but
        // not the states other stretches hold, so a clear while several are live sends the block
        // round again one stretch at a time.
        let clears = cache.clear_count();
        for (lane, &(lo, hi)) in lanes.iter_mut().zip(&spans).take(used) {
            start(dfa, cache, text, lane, lo, hi, longest)?;
        }
        let mut intact = cache.clear_count() == clears
            && (used < LANES || walk_together(dfa, cache, text.as_bytes(), &mut lanes)?);
        for lane in lanes.iter_mut().take(used) {
            intact = intact && cache.clear_count() == clears;
            if !intact {
                break;
            }
            walk_alone(dfa, cache, text.as_bytes(), lane)?;
        }
        if !intact {
            for (lane, &(lo, hi)) in lanes.iter_mut().zip(&spans).take(used) {
                lane.ends.clear();
                start(dfa, cache, text, lane, lo, hi, longest)?;
                walk_alone(dfa, cache, text.as_bytes(), lane)?;
            }
        }
        for lane in lanes.iter_mut().take(used) {
            for &(end, pattern) in &lane.ends {
                each(end, pattern)?;
            }
            lane.ends.clear();
        }
        if block_end == len {
            return Ok(());
        }
        block = block_end;
    }
}

/// Sets `lane` up to report the ends in `(lo, hi]`.
fn start(
    dfa: &DFA,
    cache: &mut Cache,
    text: &str,
    lane: &mut Lane,
    lo: usize,
    hi: usize,
    longest: usize,
) -> Result<(), DetectError> {
    let from = lo.saturating_sub(longest);
    // The range keeps the byte before `from` visible to look-behind (`\b` at the start).
    lane.sid = dfa
        .start_state_forward(cache, &Input::new(text).range(from..))
        .map_err(|e| DetectError::Config(format!("regex scan could not complete: {e}")))?;
    lane.at = from;
    lane.lo = lo;
    lane.last = hi == text.len();
    // A match is seen one byte late: the one ending at `hi` shows on the byte at `hi`.
    lane.stop = if lane.last { hi } else { hi + 1 };
    Ok(())
}

/// Steps every lane once per turn, for as long as all of them have bytes left. False if the
/// cache was cleared on the way (the lanes' states are then meaningless).
///
/// Almost every step moves between untagged states already in the cache, so the turns run in a
/// loop that only reads the cache ([`fast_turns`]): the compiler keeps the transition table's
/// address in a register and a step is a class lookup and a table load. The first turn on which
/// some lane would enter a tagged state (a match, or a state not computed yet) is then taken
/// again with the full step, which may fill the cache and records matches.
fn walk_together(
    dfa: &DFA,
    cache: &mut Cache,
    bytes: &[u8],
    lanes: &mut [Lane; LANES],
) -> Result<bool, DetectError> {
    let clears = cache.clear_count();
    let turns = lanes.iter().map(|l| l.stop - l.at).min().unwrap_or(0);
    let starts: [usize; LANES] = std::array::from_fn(|k| lanes[k].at);
    let stretches: [&[u8]; LANES] = std::array::from_fn(|k| &bytes[starts[k]..starts[k] + turns]);
    let mut sids: [LazyStateID; LANES] = std::array::from_fn(|k| lanes[k].sid);
    let mut turn = 0;
    while turn < turns {
        // A lane that has just entered a match state takes its next step in full too.
        if !sids.iter().any(|s| s.is_tagged()) {
            turn = fast_turns(dfa, cache, &stretches, &mut sids, turn);
            if turn == turns {
                break;
            }
        }
        for k in 0..LANES {
            let at = starts[k] + turn;
            let sid = dfa
                .next_state(cache, sids[k], stretches[k][turn])
                .map_err(|_| gave_up(at))?;
            if cache.clear_count() != clears {
                return Ok(false);
            }
            sids[k] = sid;
            if sid.is_tagged() {
                lanes[k].sid = sid;
                tagged(dfa, cache, bytes, &mut lanes[k], at)?;
            }
        }
        turn += 1;
    }
    for (k, lane) in lanes.iter_mut().enumerate() {
        lane.sid = sids[k];
        lane.at = starts[k] + turns;
    }
    Ok(true)
}

/// Takes turns from `turn` while no lane enters a tagged state, and returns the first turn on
/// which one would (not taken), or the end. `sids` must all be untagged: the table is indexed by
/// the untagged id. Written out for four lanes, so that each lane's state lives in a register.
#[inline(always)]
fn fast_turns(
    dfa: &DFA,
    cache: &Cache,
    stretches: &[&[u8]; LANES],
    sids: &mut [LazyStateID; LANES],
    mut turn: usize,
) -> usize {
    let [b0, b1, b2, b3] = *stretches;
    let [mut s0, mut s1, mut s2, mut s3] = *sids;
    let turns = b0.len().min(b1.len()).min(b2.len()).min(b3.len());
    while turn < turns {
        let n0 = dfa.next_state_untagged(cache, s0, b0[turn]);
        let n1 = dfa.next_state_untagged(cache, s1, b1[turn]);
        let n2 = dfa.next_state_untagged(cache, s2, b2[turn]);
        let n3 = dfa.next_state_untagged(cache, s3, b3[turn]);
        if n0.is_tagged() | n1.is_tagged() | n2.is_tagged() | n3.is_tagged() {
            break;
        }
        (s0, s1, s2, s3) = (n0, n1, n2, n3);
        turn += 1;
    }
    *sids = [s0, s1, s2, s3];
    turn
}

/// Finishes one lane: its remaining bytes, then the end of input if the text ends there.
fn walk_alone(
    dfa: &DFA,
    cache: &mut Cache,
    bytes: &[u8],
    lane: &mut Lane,
) -> Result<(), DetectError> {
    while lane.at < lane.stop {
        step(dfa, cache, bytes, lane)?;
    }
    if lane.last {
        let end = bytes.len();
        lane.sid = dfa
            .next_eoi_state(cache, lane.sid)
            .map_err(|_| gave_up(end))?;
        if lane.sid.is_match() && end > lane.lo {
            record(dfa, cache, lane, end);
        }
    }
    Ok(())
}

#[inline(always)]
fn step(dfa: &DFA, cache: &mut Cache, bytes: &[u8], lane: &mut Lane) -> Result<(), DetectError> {
    let at = lane.at;
    lane.sid = dfa
        .next_state(cache, lane.sid, bytes[at])
        .map_err(|_| gave_up(at))?;
    lane.at = at + 1;
    if lane.sid.is_tagged() {
        tagged(dfa, cache, bytes, lane, at)?;
    }
    Ok(())
}

/// A tagged state entered on the byte at `at` (now `lane.sid`). Untagged states (neither match,
/// dead, quit nor unknown) are the fast path; a dead state stays dead; the start state is not
/// tagged (no prefilter).
#[inline(never)]
fn tagged(
    dfa: &DFA,
    cache: &Cache,
    bytes: &[u8],
    lane: &mut Lane,
    at: usize,
) -> Result<(), DetectError> {
    if lane.sid.is_quit() {
        return Err(DetectError::Config(format!(
            "regex scan could not complete: {}",
            MatchError::quit(bytes[at], at)
        )));
    }
    if lane.sid.is_match() && at > lane.lo {
        record(dfa, cache, lane, at);
    }
    Ok(())
}

fn record(dfa: &DFA, cache: &Cache, lane: &mut Lane, end: usize) {
    for i in 0..dfa.match_len(cache, lane.sid) {
        lane.ends.push((end, dfa.match_pattern(cache, lane.sid, i)));
    }
}

fn gave_up(at: usize) -> DetectError {
    DetectError::Config(format!(
        "regex scan could not complete: {}",
        MatchError::gave_up(at)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::hybrid::dfa::OverlappingState;
    use regex_automata::MatchKind;

    fn dfa(patterns: &[&str]) -> DFA {
        DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All))
            .build_many(patterns)
            .unwrap()
    }

    /// What the library's own overlapping search reports, one match at a time.
    fn reference(dfa: &DFA, text: &str) -> Vec<(usize, usize)> {
        let mut cache = dfa.create_cache();
        let mut state = OverlappingState::start();
        let input = Input::new(text);
        let mut out = Vec::new();
        loop {
            dfa.try_search_overlapping_fwd(&mut cache, &input, &mut state)
                .unwrap();
            match state.get_match() {
                Some(m) => out.push((m.offset(), m.pattern().as_usize())),
                None => return out,
            }
        }
    }

    fn walked(dfa: &DFA, text: &str, longest: usize) -> Vec<(usize, usize)> {
        let mut cache = dfa.create_cache();
        let mut out = Vec::new();
        match_ends(dfa, &mut cache, text, longest, |end, p| {
            out.push((end, p.as_usize()));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn lanes_survive_the_cache_being_cleared_under_them() {
        // The smallest cache the DFA allows, so that it is cleared again and again mid-walk.
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(0)
                    .skip_cache_capacity_check(true)
                    .minimum_cache_clear_count(None),
            )
            .build_many(&PATTERNS)
            .unwrap();
        let t = text(3 * LANES * LANE_BYTES + 777);
        let expected = reference(&dfa, &t);
        let mut cache = dfa.create_cache();
        let mut got = Vec::new();
        match_ends(&dfa, &mut cache, &t, 45, |end, p| {
            got.push((end, p.as_usize()));
            Ok(())
        })
        .unwrap();
        assert!(cache.clear_count() > 10, "{} clears", cache.clear_count());
        assert_eq!(got, expected);
    }

    const PATTERNS: [&str; 6] = [
        r"(?-u:\b)[0-9]{3}-[0-9]{3}-[0-9]{4}(?-u:\b)",
        r"(?-u:\b)[0-9]{3}-[0-9]{2}-[0-9]{4}(?-u:\b)",
        r"(?-u:\b)[0-9]{5,8}(?-u:\b)",
        r"[a-z.]{1,20}@[a-z]{1,20}\.com",
        r"(?i)(?-u:\b)(?:mrn|patient)(?-u:\b)",
        r"[0-9]{2}",
    ];

    /// Deterministic text with matches everywhere, including across every lane and block cut.
    fn text(len: usize) -> String {
        let pieces = [
            "call 415-555-0132 ",
            "ssn 512-48-7391, ",
            "mail ann.lee@example.com ",
            "patient ",
            "12345 ",
            "x",
            "MRN 00482913 ",
            "é ",
        ];
        let mut s = String::new();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        while s.len() < len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        s
    }

    #[test]
    fn lanes_report_exactly_what_one_overlapping_search_reports() {
        let dfa = dfa(&PATTERNS);
        let longest = 45;
        // One lane (short), one block of four lanes, and several blocks with a ragged end.
        for len in [
            0,
            1,
            17,
            4 * longest * 4,
            LANES * LANE_BYTES,
            3 * LANES * LANE_BYTES + 777,
        ] {
            let t = text(len);
            let expected = reference(&dfa, &t);
            assert!(len < 100 || !expected.is_empty());
            assert_eq!(
                walked(&dfa, &t, longest),
                expected,
                "text of {} bytes",
                t.len()
            );
        }
    }
}
