//! IAM wildcard patterns as policies write them: actions (case-insensitive) and resource ARNs
//! (case-sensitive), where `*` matches any run of characters (across `/` and `:`) and `?` exactly
//! one. Besides matching, it answers the two questions Deny statements raise, both soundly: does
//! one pattern cover everything another matches, and can two patterns match a common string.
//! When a shape is not understood, the answers lean towards keeping grants.

/// A compiled IAM pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The pattern as matched: lower-cased for actions, with policy variables turned into `*`.
    text: String,
    /// Byte length of the literal text before the first wildcard.
    prefix_end: usize,
    /// Byte offset of the literal text after the last wildcard.
    suffix_start: usize,
    /// Whether the pattern has a wildcard at all.
    wild: bool,
    /// Whether the pattern is made of `*` only (matches everything).
    any: bool,
    /// Whether the pattern is `prefix*suffix` (one `*`, no `?`), the common shape, matched
    /// without walking the glob.
    one_star: bool,
    /// False when policy variables (`${aws:username}`) were widened to `*`: the pattern then
    /// matches more than IAM would, so it must never be used to remove a grant.
    faithful: bool,
}

impl Pattern {
    /// An `Action` / `NotAction` entry: IAM compares actions case-insensitively.
    pub(crate) fn action(raw: &str) -> Pattern {
        Pattern::compile(raw.trim().to_ascii_lowercase(), true)
    }

    /// A `Resource` / `NotResource` entry. Policy variables are resolved per request, so each
    /// `${...}` is widened to `*`: reach over-reports rather than misses.
    pub(crate) fn resource(raw: &str) -> Pattern {
        let raw = raw.trim();
        if !raw.contains("${") {
            return Pattern::compile(raw.to_string(), true);
        }
        let mut text = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            text.push_str(rest.get(..start).unwrap_or_default());
            let after = rest.get(start..).unwrap_or_default();
            match after.find('}') {
                Some(end) => {
                    text.push('*');
                    rest = after.get(end + 1..).unwrap_or_default();
                }
                None => {
                    text.push_str(after);
                    rest = "";
                }
            }
        }
        text.push_str(rest);
        Pattern::compile(text, false)
    }

    fn compile(text: String, faithful: bool) -> Pattern {
        let is_wild = |c: char| c == '*' || c == '?';
        let prefix_end = text.find(is_wild).unwrap_or(text.len());
        let suffix_start = text.rfind(is_wild).map_or(text.len(), |at| at + 1);
        let wild = prefix_end < text.len();
        let any = !text.is_empty() && text.bytes().all(|b| b == b'*');
        let one_star = text.bytes().filter(|&b| b == b'*').count() == 1 && !text.contains('?');
        Pattern {
            text,
            prefix_end,
            suffix_start,
            wild,
            any,
            one_star,
            faithful,
        }
    }

    /// True when the pattern has no wildcard: it names exactly one string.
    pub(crate) fn is_literal(&self) -> bool {
        !self.wild
    }

    /// True for `*`.
    pub(crate) fn is_any(&self) -> bool {
        self.any
    }

    /// The literal text before the first wildcard.
    pub(crate) fn literal_prefix(&self) -> &str {
        self.text.get(..self.prefix_end).unwrap_or_default()
    }

    fn literal_suffix(&self) -> &str {
        self.text.get(self.suffix_start..).unwrap_or_default()
    }

    /// True when the pattern matches `text` (lower-case `text` first for actions).
    pub(crate) fn matches(&self, text: &str) -> bool {
        if self.any {
            return true;
        }
        if !self.wild {
            return self.text == text;
        }
        if self.one_star {
            let (prefix, suffix) = (self.literal_prefix(), self.literal_suffix());
            return text.len() >= prefix.len() + suffix.len()
                && text.starts_with(prefix)
                && text.ends_with(suffix);
        }
        glob(self.text.as_bytes(), text.as_bytes(), false)
    }

    /// True when the pattern matches `text` and may be trusted to: a pattern with a widened
    /// policy variable matches more than IAM would, so it proves nothing for a Deny.
    pub(crate) fn surely_matches(&self, text: &str) -> bool {
        self.faithful && self.matches(text)
    }

    /// True when the pattern matches some string that starts with `prefix`: `s3:*` and `s*`
    /// reach the service prefix `s3:`, `arn:aws:s3:::*` reaches the objects under `arn:aws:s3:::b/`.
    pub(crate) fn matches_some_extension(&self, prefix: &str) -> bool {
        if self.any {
            return true;
        }
        if !self.wild {
            return self.text.starts_with(prefix);
        }
        if self.one_star {
            // Past the star anything can follow, so only the literal prefixes must agree.
            let literal = self.literal_prefix();
            return literal.starts_with(prefix) || prefix.starts_with(literal);
        }
        glob(self.text.as_bytes(), prefix.as_bytes(), true)
    }

    /// True when every string `other` matches is matched by `self` as well. Sound but partial:
    /// identical patterns, `*`, literals, and `prefix*suffix` against anything whose literal ends
    /// agree are recognised; anything else answers false.
    pub(crate) fn covers(&self, other: &Pattern) -> bool {
        if !self.faithful {
            return false;
        }
        if self.any {
            return true;
        }
        if !other.wild {
            // A literal names one string; `other` may be a widened variable pattern, though,
            // whose text is no longer literal — `wild` is set then, so this is exact.
            return self.matches(&other.text);
        }
        if self.text == other.text {
            return true;
        }
        // `P*S` with a single star and no `?`: it matches every string that starts with P, ends
        // with S and is at least |P|+|S| long. Every string `other` matches starts with its
        // literal prefix and ends with its literal suffix, and is at least that long.
        if self.one_star {
            return other.literal_prefix().starts_with(self.literal_prefix())
                && other.literal_suffix().ends_with(self.literal_suffix());
        }
        false
    }

    /// True when `self` matches every string that starts with `prefix` (a sub-resource space
    /// such as a bucket's objects `arn:aws:s3:::b/…`).
    pub(crate) fn covers_extensions_of(&self, prefix: &str) -> bool {
        if !self.faithful {
            return false;
        }
        self.any
            || (self.one_star
                && self.text.ends_with('*')
                && prefix.starts_with(self.literal_prefix()))
    }

    /// True when no string matches both patterns. Sound but partial: literal ends that disagree,
    /// or two different literals.
    pub(crate) fn disjoint(&self, other: &Pattern) -> bool {
        if !self.wild && !other.wild {
            return self.text != other.text;
        }
        let (a, b) = (self.literal_prefix(), other.literal_prefix());
        if !a.starts_with(b) && !b.starts_with(a) {
            return true;
        }
        let (a, b) = (self.literal_suffix(), other.literal_suffix());
        !a.ends_with(b) && !b.ends_with(a)
    }
}

/// Glob matching with `*` (any run) and `?` (one character), by the classic single-backtrack
/// walk, linear in practice. With `partial`, succeeds as soon as all of `text` is consumed: some
/// extension of `text` then matches, since whatever pattern remains can always be satisfied.
fn glob(pattern: &[u8], text: &[u8], partial: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Where the last `*` was seen: the pattern index after it, and the text index it resumes at.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let Some(&c) = text.get(t) else {
            if partial {
                return true;
            }
            return pattern
                .get(p..)
                .is_some_and(|rest| rest.iter().all(|&b| b == b'*'));
        };
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += char_len(c);
                continue;
            }
            Some(&literal) if literal == c => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        let Some((after_star, resume)) = star else {
            return false;
        };
        // Let the last star swallow one more character and try again from there.
        let swallowed = text.get(resume).map_or(1, |&b| char_len(b));
        p = after_star;
        t = resume + swallowed;
        star = Some((after_star, t));
    }
}

/// The byte length of the UTF-8 character starting with `lead`, so `?` and `*` step over whole
/// characters.
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_match_case_insensitively_with_both_wildcards() {
        let get = Pattern::action("S3:Get*");
        assert!(get.matches("s3:getobject"));
        assert!(!get.matches("s3:putobject"));
        assert!(Pattern::action("s3:Get?bject").matches("s3:getobject"));
        assert!(!Pattern::action("s3:Get?bject").matches("s3:getbject"));
        assert!(Pattern::action("*").matches("kms:decrypt"));
    }

    #[test]
    fn resource_stars_span_slashes_and_colons_but_case_counts() {
        let bucket = Pattern::resource("arn:aws:s3:::bucket-*");
        assert!(bucket.matches("arn:aws:s3:::bucket-a"));
        assert!(bucket.matches("arn:aws:s3:::bucket-a/key/deeper"));
        assert!(!bucket.matches("arn:aws:s3:::Bucket-a"));
        assert!(
            Pattern::resource("arn:aws:*:*:table/t")
                .matches("arn:aws:dynamodb:us-east-1:1:table/t")
        );
        assert!(!Pattern::resource("arn:aws:s3:::a?").matches("arn:aws:s3:::a"));
        assert!(Pattern::resource("arn:aws:s3:::é?").matches("arn:aws:s3:::éé"));
    }

    #[test]
    fn extensions_reach_sub_resources_only_when_the_pattern_continues() {
        assert!(Pattern::resource("arn:aws:s3:::*").matches_some_extension("arn:aws:s3:::b/"));
        assert!(
            Pattern::resource("arn:aws:s3:::b/private/*").matches_some_extension("arn:aws:s3:::b/")
        );
        assert!(!Pattern::resource("arn:aws:s3:::b").matches_some_extension("arn:aws:s3:::b/"));
        assert!(Pattern::action("rds*").matches_some_extension("rds-db:"));
        assert!(!Pattern::action("s3:*").matches_some_extension("kms:"));
        assert!(Pattern::action("s3:*").matches_some_extension("s"));
        assert!(Pattern::resource("arn:aws:s3:::b/x").matches_some_extension("arn:aws:s3:::b/"));
        assert!(!Pattern::resource("arn:aws:s3:::b*z").matches("arn:aws:s3:::bz/"));
        assert!(!Pattern::resource("arn:aws:s3:::ab*ba").matches("arn:aws:s3:::aba"));
        assert!(Pattern::resource("arn:aws:s3:::ab*ba").matches("arn:aws:s3:::abba"));
    }

    #[test]
    fn covering_is_recognised_for_the_common_shapes_only() {
        let a = Pattern::action;
        assert!(a("*").covers(&a("s3:GetObject")));
        assert!(a("s3:*").covers(&a("s3:Get*")));
        assert!(a("s3:*").covers(&a("S3:GetObject")));
        assert!(a("s3:Get*").covers(&a("s3:GetObject*")));
        assert!(a("s3:GetObject").covers(&a("s3:getobject")));
        assert!(!a("s3:*").covers(&a("*")));
        assert!(!a("s3:Get*").covers(&a("s3:*")));
        assert!(!a("s3:*Object").covers(&a("s3:Get*")));
        let r = Pattern::resource;
        assert!(r("arn:aws:s3:::bucket-*").covers(&r("arn:aws:s3:::bucket-phi-*")));
        assert!(r("arn:aws:s3:::b*").covers(&r("arn:aws:s3:::b/*")));
        assert!(!r("arn:aws:s3:::b/*").covers(&r("arn:aws:s3:::b*")));
        // A widened variable never removes a grant.
        assert!(!r("arn:aws:s3:::${aws:username}").covers(&r("arn:aws:s3:::x")));
        assert!(r("arn:aws:s3:::${aws:username}").matches("arn:aws:s3:::x"));
        assert!(r("arn:aws:s3:::b/*").covers_extensions_of("arn:aws:s3:::b/"));
        assert!(!r("arn:aws:s3:::b/public/*").covers_extensions_of("arn:aws:s3:::b/"));
    }

    #[test]
    fn the_one_star_shortcut_agrees_with_the_glob_walk() {
        let patterns = ["a*", "*a", "ab*ba", "a*b", "arn:aws:s3:::b*", "*", "x*y"];
        let texts = [
            "",
            "a",
            "ab",
            "aba",
            "abba",
            "ba",
            "b",
            "arn:aws:s3:::b/x",
            "xy",
            "xay",
            "yx",
        ];
        for pattern in patterns {
            let compiled = Pattern::resource(pattern);
            for text in texts {
                assert_eq!(
                    compiled.matches(text),
                    glob(pattern.as_bytes(), text.as_bytes(), false),
                    "{pattern} ~ {text}"
                );
                assert_eq!(
                    compiled.matches_some_extension(text),
                    glob(pattern.as_bytes(), text.as_bytes(), true),
                    "{pattern} ~ {text}…"
                );
            }
        }
    }

    #[test]
    fn disjoint_only_when_literal_ends_disagree() {
        let a = Pattern::action;
        assert!(a("s3:*").disjoint(&a("kms:Decrypt")));
        assert!(a("s3:Get*").disjoint(&a("s3:Put*")));
        assert!(!a("s3:*").disjoint(&a("s3:GetObject")));
        assert!(!a("*").disjoint(&a("kms:Decrypt")));
        assert!(a("iam:PassRole").disjoint(&a("iam:GetRole")));
    }
}
