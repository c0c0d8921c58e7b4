//! Socket and memory channel of a DIMM slot, read from its Device Locator and Bank Locator.
//!
//! Vendors spell slots differently: Intel "CPU0_DIMM_A1" / "CPU0_C0D0", Supermicro "P1-DIMMA1" /
//! "P1-DIMM1A" with bank "P0_Node0_Channel0_Dimm0", AMD boards "DIMM 0" with bank "P0 CHANNEL A",
//! desktops "ChannelA-DIMM0". Only labels that name the channel are trusted; numbered slots
//! ("DIMM 1", "RAM slot #0") say nothing about channels and yield `None`.
//!
//! Dell's bare "A1" needs the CPU generation and is handled by [`dell_place`].

/// Socket and channel as far as the labels tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub socket: Option<String>,
    pub channel: Option<String>,
}

/// Place a slot from its locator, falling back on the bank locator for what the locator lacks.
pub fn place(locator: &str, bank: Option<&str>) -> Place {
    let from_locator = place_one(locator);
    let from_bank = bank.map(place_one).unwrap_or_default();
    Place {
        socket: from_locator.socket.or(from_bank.socket),
        channel: from_locator.channel.or(from_bank.channel),
    }
}

fn place_one(label: &str) -> Place {
    let tokens = tokenize(label);
    let (socket, rest) = take_socket(&tokens);
    let channel = find_channel(&rest, socket.is_some());
    Place { socket, channel }
}

/// Upper-cased alphanumeric runs: "P1-DIMMA1" → ["P1", "DIMMA1"].
fn tokenize(label: &str) -> Vec<String> {
    label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_ascii_uppercase())
        .collect()
}

const SOCKET_WORDS: [&str; 4] = ["CPU", "PROC", "PROCESSOR", "SOCKET"];

/// The socket token ("CPU1", "P0", "PROC 1" → "PROC1") and the tokens without it.
fn take_socket(tokens: &[String]) -> (Option<String>, Vec<String>) {
    for (i, t) in tokens.iter().enumerate() {
        let glued = SOCKET_WORDS
            .iter()
            .chain(&["P"])
            .any(|w| t.strip_prefix(w).is_some_and(all_digits));
        if glued {
            return (Some(t.clone()), without(tokens, i, 1));
        }
        let next = tokens.get(i + 1);
        if SOCKET_WORDS.contains(&t.as_str()) && next.is_some_and(|n| all_digits(n)) {
            let n = next.map(String::as_str).unwrap_or_default();
            return (Some(format!("{t}{n}")), without(tokens, i, 2));
        }
    }
    (None, tokens.to_vec())
}

fn without(tokens: &[String], at: usize, count: usize) -> Vec<String> {
    let mut out = tokens.to_vec();
    out.drain(at..(at + count).min(out.len()));
    out
}

/// The channel named by the tokens left after the socket.
fn find_channel(tokens: &[String], has_socket: bool) -> Option<String> {
    for (i, t) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map(String::as_str);
        let found = channel_and_dimm(t)
            .or_else(|| channel_word(t, next))
            .or_else(|| slot_word(t, next))
            // "CPU1_A1": a letter-and-number slot right after the socket names the channel.
            .or_else(|| has_socket.then(|| letter_slot(t)).flatten());
        if found.is_some() {
            return found;
        }
    }
    None
}

/// "C0D1" (channel 0, DIMM 1) → "0".
fn channel_and_dimm(t: &str) -> Option<String> {
    let (ch, dimm) = t.strip_prefix('C')?.split_once('D')?;
    (all_digits(ch) && all_digits(dimm)).then(|| ch.to_string())
}

/// "CHANNELA", "CHANNEL A", "CHA", "CH0" → "A" / "0".
fn channel_word(t: &str, next: Option<&str>) -> Option<String> {
    if let Some(rest) = t.strip_prefix("CHANNEL") {
        let name = if rest.is_empty() { next? } else { rest };
        return Some(name.to_string());
    }
    let rest = t.strip_prefix("CH")?;
    let short = rest.len() == 1 && rest.chars().all(|c| c.is_ascii_alphabetic());
    (short || (!rest.is_empty() && rest.len() <= 2 && all_digits(rest))).then(|| rest.to_string())
}

/// "DIMMA1", "DIMM1A", "DIMM A1", "DDR4_A1" → "A"; "DIMM1" names no channel.
fn slot_word(t: &str, next: Option<&str>) -> Option<String> {
    let rest = ["DIMM", "DDR3", "DDR4", "DDR5"]
        .iter()
        .find_map(|w| t.strip_prefix(w))?;
    let slot = if rest.is_empty() { next? } else { rest };
    letters_of_slot(slot)
}

/// The letters of a slot name made of letters and digits in either order ("A1", "1A", "AB2", "A").
fn letters_of_slot(slot: &str) -> Option<String> {
    let is_alpha = |c: char| c.is_ascii_alphabetic();
    let is_digit = |c: char| c.is_ascii_digit();
    let after_letters = slot.trim_start_matches(is_alpha);
    let after_digits = slot.trim_start_matches(is_digit);
    let letters_first = after_letters.len() < slot.len() && after_letters.chars().all(is_digit);
    let digits_first = after_digits.len() < slot.len()
        && !after_digits.is_empty()
        && after_digits.chars().all(is_alpha);
    if letters_first {
        slot.get(..slot.len() - after_letters.len())
            .map(str::to_string)
    } else if digits_first {
        Some(after_digits.to_string())
    } else {
        None
    }
}

/// "A1" → "A": one letter then digits.
fn letter_slot(t: &str) -> Option<String> {
    let mut chars = t.chars();
    let letter = chars.next().filter(|c| c.is_ascii_alphabetic())?;
    all_digits(chars.as_str()).then(|| letter.to_string())
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// Dell's slot names: one letter per processor (A = CPU1, B = CPU2, ...) and a number.
pub fn dell_slot(locator: &str) -> Option<(u32, u32)> {
    let t = locator.trim();
    let mut chars = t.chars();
    let letter = chars.next().filter(|c| c.is_ascii_uppercase())?;
    let rest = chars.as_str();
    if !all_digits(rest) {
        return None;
    }
    let number: u32 = rest.parse().ok().filter(|n| *n >= 1)?;
    Some((u32::from(letter) - u32::from('A'), number))
}

/// Dell PowerEdge population order: with C channels per processor, slot n sits on channel
/// (n - 1) mod C (e.g. R630 channel 0 = A1, A5, A9; R750 channel A = A1, A9).
pub fn dell_place(socket_index: u32, slot: u32, channels: Option<u32>) -> Place {
    Place {
        socket: Some(format!("CPU{}", socket_index + 1)),
        channel: channels
            .filter(|c| *c > 0)
            .map(|c| (slot.saturating_sub(1) % c).to_string()),
    }
}

/// Memory channels per processor of the Intel server generations Dell numbers this way, by
/// CPUID display family/model. Unknown generations get `None`, never a guess.
pub fn dell_channels(family: u32, model: u32) -> Option<u32> {
    match (family, model) {
        // Sandy Bridge-EP, Ivy Bridge-EP, Haswell-EP, Broadwell-EP.
        (6, 45) | (6, 62) | (6, 63) | (6, 79) => Some(4),
        // Skylake-SP, Cascade Lake-SP, Cooper Lake-SP.
        (6, 85) => Some(6),
        // Ice Lake-SP, Sapphire Rapids, Emerald Rapids.
        (6, 106) | (6, 143) | (6, 207) => Some(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(loc: &str, bank: Option<&str>) -> (Option<String>, Option<String>) {
        let pl = place(loc, bank);
        (pl.socket, pl.channel)
    }

    fn some(s: &str, c: &str) -> (Option<String>, Option<String>) {
        (Some(s.to_string()), Some(c.to_string()))
    }

    #[test]
    fn vendor_styles() {
        assert_eq!(p("CPU1_DIMM_A1", Some("NODE 0")), some("CPU1", "A"));
        assert_eq!(p("CPU1 DIMM A1", None), some("CPU1", "A"));
        assert_eq!(p("CPU0_C3D1", Some("NODE 1")), some("CPU0", "3"));
        assert_eq!(
            p("P1-DIMMA1", Some("P0_Node0_Channel0_Dimm0")),
            some("P1", "A")
        );
        assert_eq!(
            p("P2-DIMM1E", Some("P1_Node1_Channel1_Dimm0")),
            some("P2", "E")
        );
        assert_eq!(p("DIMM 0", Some("P0 CHANNEL A")), some("P0", "A"));
        assert_eq!(p("DIMM_P0_B1", Some("BANK 0")), some("P0", "B"));
        assert_eq!(p("PROC 1 DIMM 3", None), (Some("PROC1".into()), None));
        assert_eq!(
            p("ChannelA-DIMM0", Some("BANK 0")),
            (None, Some("A".into()))
        );
        assert_eq!(p("DIMM_A1", Some("NODE 0")), (None, Some("A".into())));
    }

    #[test]
    fn numbered_slots_name_no_channel() {
        assert_eq!(p("RAM slot #0", Some("RAM slot #0")), (None, None));
        assert_eq!(p("DIMM 1", None), (None, None));
        assert_eq!(p("A1", None), (None, None));
        assert_eq!(p("", None), (None, None));
    }

    #[test]
    fn dell_numbering() {
        assert_eq!(dell_slot("B12"), Some((1, 12)));
        assert_eq!(dell_slot("A0"), None);
        assert_eq!(dell_slot("DIMM1"), None);
        assert_eq!(dell_place(0, 9, Some(8)), dell_place(0, 1, Some(8)));
        assert_eq!(dell_place(0, 5, Some(4)).channel.as_deref(), Some("0"));
        assert_eq!(dell_place(1, 3, None).socket.as_deref(), Some("CPU2"));
        assert_eq!(dell_channels(6, 106), Some(8));
        assert_eq!(dell_channels(6, 58), None);
    }
}
