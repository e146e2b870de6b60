//! RFC 6570 URI templates read as patterns.
//!
//! RFC 6570 defines only expansion. A string matches a template here when
//! some assignment of values to the template's variables (each undefined, a
//! string, a list or an associative array) expands to exactly that string.
//! The template is translated once into an anchored regular expression of
//! the `regex` crate, whose matching time is linear in the topic.
//!
//! Two deliberate widenings, both in how percent-encoding is read:
//! a variable's value may hold any percent-encoded triplet (either case of
//! hex digit), although an expander only produces those of UTF-8; and a
//! prefix modifier (`{var:3}`) on a `+` or `#` expression counts a triplet
//! copied from the value as one character. Template literals match as
//! written: a literal `é` matches `é`, not `%C3%A9`.
//!
//! A prefix modifier compiles to a bounded repetition, and an expression of
//! `k` variables to `k` alternatives of up to `k` parts (one per first
//! defined variable). Both grow the automaton: prefixes past about a
//! hundred characters, and expressions of some 25 variables or more, meet
//! the size bound and are refused as [`PatternError::TooComplex`].

use regex::{Regex, RegexBuilder};

use super::error::{PatternError, REGEX_SIZE_LIMIT};
use super::name::MAX_TOPIC_LEN;

/// A compiled URI template.
#[derive(Debug)]
pub(crate) struct Template {
    /// `None` for a template without expressions, which only its own text
    /// matches (most selectors of the earlier revision are plain URLs).
    regex: Option<Regex>,
    literal_prefix: String,
}

impl Template {
    /// Parses `template` and compiles its matching expression.
    pub(crate) fn compile(template: &str) -> Result<Template, PatternError> {
        let pieces = parse(template)?;
        let literal_prefix = match pieces.first() {
            Some(Piece::Literal(text)) => (*text).to_owned(),
            _ => String::new(),
        };
        if pieces.len() == 1 && literal_prefix.len() == template.len() {
            return Ok(Template {
                regex: None,
                literal_prefix,
            });
        }
        let mut body = String::from(r"\A");
        for piece in &pieces {
            match piece {
                Piece::Literal(text) => body.push_str(&regex::escape(text)),
                Piece::Expression { op, vars } => body.push_str(&expression_regex(*op, vars)),
            }
        }
        body.push_str(r"\z");
        let regex = RegexBuilder::new(&body)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|err| match err {
                regex::Error::CompiledTooBig(_) => PatternError::TooComplex,
                // The expression is built here from escaped pieces; any
                // other failure is a defect, reported rather than panicking.
                _ => PatternError::InvalidTemplate {
                    at: 0,
                    reason: "the template could not be compiled",
                },
            })?;
        Ok(Template {
            regex: Some(regex),
            literal_prefix,
        })
    }

    /// Whether some expansion of the template is `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match &self.regex {
            Some(regex) => regex.is_match(text),
            None => text == self.literal_prefix,
        }
    }

    /// The literal text before the first expression: every match starts
    /// with it.
    pub(crate) fn literal_prefix(&self) -> &str {
        &self.literal_prefix
    }
}

#[derive(Debug)]
enum Piece<'a> {
    Literal(&'a str),
    Expression { op: Op, vars: Vec<VarSpec<'a>> },
}

#[derive(Debug)]
struct VarSpec<'a> {
    name: &'a str,
    modifier: Modifier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    None,
    /// `:n`, at most `n` characters of a string value.
    Prefix(usize),
    /// `*`, list and associative array members expanded one by one.
    Explode,
}

/// The eight expression operators (RFC 6570 section 3.2 and appendix A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    PathParam,
    Query,
    QueryContinuation,
}

impl Op {
    /// Text put before the first defined variable.
    fn first(self) -> &'static str {
        match self {
            Op::Simple | Op::Reserved => "",
            Op::Fragment => "#",
            Op::Label => ".",
            Op::Path => "/",
            Op::PathParam => ";",
            Op::Query => "?",
            Op::QueryContinuation => "&",
        }
    }

    /// Text put between defined variables (and exploded members).
    fn sep(self) -> &'static str {
        match self {
            Op::Simple | Op::Reserved | Op::Fragment => ",",
            Op::Label => ".",
            Op::Path => "/",
            Op::PathParam => ";",
            Op::Query | Op::QueryContinuation => "&",
        }
    }

    /// Whether values are written as `name=value`.
    fn named(self) -> bool {
        matches!(self, Op::PathParam | Op::Query | Op::QueryContinuation)
    }

    /// Whether an empty named value is written `name=` (else `name`).
    fn empty_has_equals(self) -> bool {
        matches!(self, Op::Query | Op::QueryContinuation)
    }

    /// Whether reserved characters pass through unencoded.
    fn allows_reserved(self) -> bool {
        matches!(self, Op::Reserved | Op::Fragment)
    }
}

fn error(at: usize, reason: &'static str) -> PatternError {
    PatternError::InvalidTemplate { at, reason }
}

fn parse(template: &str) -> Result<Vec<Piece<'_>>, PatternError> {
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut at = 0;
    while let Some(c) = template[at..].chars().next() {
        match c {
            '{' => {
                if literal_start < at {
                    pieces.push(Piece::Literal(&template[literal_start..at]));
                }
                let close = template[at..]
                    .find('}')
                    .map(|offset| at + offset)
                    .ok_or_else(|| error(at, "expression is not closed"))?;
                pieces.push(parse_expression(&template[at + 1..close], at + 1)?);
                at = close + 1;
                literal_start = at;
            }
            '%' => {
                if !is_triplet(&bytes[at..]) {
                    return Err(error(at, "`%` must start a percent-encoded triplet"));
                }
                at += 3;
            }
            c if is_literal(c) => at += c.len_utf8(),
            _ => return Err(error(at, "character not allowed in a template literal")),
        }
    }
    if literal_start < template.len() {
        pieces.push(Piece::Literal(&template[literal_start..]));
    }
    Ok(pieces)
}

fn parse_expression(body: &str, at: usize) -> Result<Piece<'_>, PatternError> {
    let op = match body.as_bytes().first() {
        None => return Err(error(at, "expression is empty")),
        Some(b'+') => Some(Op::Reserved),
        Some(b'#') => Some(Op::Fragment),
        Some(b'.') => Some(Op::Label),
        Some(b'/') => Some(Op::Path),
        Some(b';') => Some(Op::PathParam),
        Some(b'?') => Some(Op::Query),
        Some(b'&') => Some(Op::QueryContinuation),
        Some(b'=' | b',' | b'!' | b'@' | b'|') => {
            return Err(error(at, "operator is reserved for future extensions"));
        }
        Some(_) => None,
    };
    let (op, list, mut spec_at) = match op {
        Some(op) => (op, &body[1..], at + 1),
        None => (Op::Simple, body, at),
    };
    let mut vars = Vec::new();
    for spec in list.split(',') {
        vars.push(parse_varspec(spec, spec_at)?);
        spec_at += spec.len() + 1;
    }
    Ok(Piece::Expression { op, vars })
}

fn parse_varspec(spec: &str, at: usize) -> Result<VarSpec<'_>, PatternError> {
    let (name, modifier) = if let Some(name) = spec.strip_suffix('*') {
        (name, Modifier::Explode)
    } else if let Some((name, digits)) = spec.split_once(':') {
        let valid = (1..=4).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return Err(error(
                at + name.len() + 1,
                "prefix length must be 1 to 9999",
            ));
        }
        (
            name,
            Modifier::Prefix(digits.parse().expect("checked digits")),
        )
    } else {
        (spec, Modifier::None)
    };
    if !is_varname(name) {
        return Err(error(
            at,
            "variable name must be letters, digits, `_`, triplets and inner dots",
        ));
    }
    Ok(VarSpec { name, modifier })
}

/// `varname = varchar *( ["."] varchar )`, `varchar = ALPHA / DIGIT / "_" /
/// pct-encoded`.
fn is_varname(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    let mut after_varchar = false;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if is_triplet(&bytes[i..]) => i += 3,
            b'.' if after_varchar => {
                after_varchar = false;
                i += 1;
                continue;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' => i += 1,
            _ => return false,
        }
        after_varchar = true;
    }
    after_varchar
}

fn is_triplet(bytes: &[u8]) -> bool {
    bytes.len() >= 3
        && bytes[0] == b'%'
        && bytes[1].is_ascii_hexdigit()
        && bytes[2].is_ascii_hexdigit()
}

/// RFC 6570 `literals` less `pct-encoded` (handled by the caller), with
/// errata 6937 admitting the apostrophe.
fn is_literal(c: char) -> bool {
    match c {
        '!' | '#' | '$' | '&'..=';' | '=' | '?'..='[' | ']' | '_' | 'a'..='z' | '~' => true,
        _ => is_ucschar_or_iprivate(c),
    }
}

fn is_ucschar_or_iprivate(c: char) -> bool {
    let code = u32::from(c);
    match code {
        0xa0..=0xd7ff | 0xe000..=0xfdcf | 0xfdf0..=0xffef => true,
        // Planes 1 to 16 less each plane's last two code points; plane 14
        // starts at E1000 (tags and variation selectors are excluded).
        0x1_0000.. => (code & 0xffff) <= 0xfffd && !(0xe_0000..0xe_1000).contains(&code),
        _ => false,
    }
}

// Character classes, written with escapes so that no two characters form a
// class set operation (`&&`, `--`, `~~`).
const UNRESERVED: &str = r"A-Za-z0-9\-\._\~";
const RESERVED: &str = r":/?\#\[\]@!$\&'()*+,;=";
const TRIPLET: &str = "%[0-9A-Fa-f]{2}";
/// The percent-encoded UTF-8 bytes of one character.
const UTF8_TRIPLETS: &str = "%[0-7][0-9A-Fa-f]\
    |%[C-Dc-d][0-9A-Fa-f]%[89ABab][0-9A-Fa-f]\
    |%[Ee][0-9A-Fa-f](?:%[89ABab][0-9A-Fa-f]){2}\
    |%[Ff][0-7](?:%[89ABab][0-9A-Fa-f]){3}";

/// What one variable's value may look like once expanded by `op`.
struct ValueSyntax {
    /// One expanded unit: an allowed character or a triplet.
    unit: String,
    /// One expanded character, for prefix modifiers.
    char_unit: String,
}

impl ValueSyntax {
    fn new(op: Op) -> ValueSyntax {
        let class = if op.allows_reserved() {
            format!("{UNRESERVED}{RESERVED}")
        } else {
            UNRESERVED.to_owned()
        };
        // A `+` or `#` expansion copies triplets of the value as they are.
        let copied = if op.allows_reserved() {
            format!("|{TRIPLET}")
        } else {
            String::new()
        };
        ValueSyntax {
            unit: format!("(?:[{class}]|{TRIPLET})"),
            char_unit: format!("(?:[{class}]|{UTF8_TRIPLETS}{copied})"),
        }
    }

    /// Any run of units (`min` 0 or 1).
    fn run(&self, min: usize) -> String {
        format!("{}{}", self.unit, if min == 0 { "*" } else { "+" })
    }

    /// At most `max` characters (`min` 0 or 1).
    fn prefix(&self, min: usize, max: usize) -> String {
        // Every character takes at least one byte, so a bound at or past
        // the longest topic bounds nothing.
        if max >= MAX_TOPIC_LEN {
            self.run(min)
        } else {
            format!("{}{{{min},{max}}}", self.char_unit)
        }
    }
}

/// The expansions of one defined variable (RFC 6570 appendix A), whatever
/// its kind of value: string, non-empty list or non-empty associative array.
fn var_regex(op: Op, var: &VarSpec<'_>, syntax: &ValueSyntax) -> String {
    let r = syntax.run(0);
    let sep = regex::escape(op.sep());
    let name = regex::escape(var.name);
    match (op.named(), var.modifier) {
        // Prefixes apply to strings only.
        (false, Modifier::Prefix(max)) => syntax.prefix(0, max),
        (true, Modifier::Prefix(max)) if op.empty_has_equals() => {
            format!("{name}={}", syntax.prefix(0, max))
        }
        (true, Modifier::Prefix(max)) => format!("{name}(?:={})?", syntax.prefix(1, max)),
        // A string, or members joined by commas.
        (false, Modifier::None) => format!("{r}(?:,{r})*"),
        (true, Modifier::None) if op.empty_has_equals() => format!("{name}={r}(?:,{r})*"),
        // `;name` for an empty string, `;name=` for a list of one empty member.
        (true, Modifier::None) => format!("{name}(?:={r}(?:,{r})*)?"),
        // Exploded: list members, or `key=value` pairs, joined by `sep`.
        (false, Modifier::Explode) => format!("(?:{r}(?:{sep}{r})*|{r}={r}(?:{sep}{r}={r})*)"),
        // Named and exploded, every member is `key=value` (the variable's
        // own name is a key like any other, so that covers lists and
        // strings).
        (true, Modifier::Explode) => {
            let pair = if op.empty_has_equals() {
                format!("{r}={r}")
            } else {
                format!("{r}(?:={})?", syntax.run(1))
            };
            format!("{pair}(?:{sep}{pair})*")
        }
    }
}

/// An expression expands to nothing when no variable is defined; otherwise
/// to `first`, then the defined variables in order, joined by `sep`.
fn expression_regex(op: Op, vars: &[VarSpec<'_>]) -> String {
    let syntax = ValueSyntax::new(op);
    let values: Vec<String> = vars.iter().map(|var| var_regex(op, var, &syntax)).collect();
    let sep = regex::escape(op.sep());
    // One alternative per first defined variable; each later one optional.
    let alternatives: Vec<String> = (0..values.len())
        .map(|first| {
            let mut alternative = format!("(?:{})", values[first]);
            for later in &values[first + 1..] {
                alternative.push_str(&format!("(?:{sep}(?:{later}))?"));
            }
            alternative
        })
        .collect();
    format!(
        "(?:{}(?:{}))?",
        regex::escape(op.first()),
        alternatives.join("|")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(template: &str) -> (usize, &'static str) {
        match Template::compile(template) {
            Err(PatternError::InvalidTemplate { at, reason }) => (at, reason),
            other => panic!("{template}: {other:?}"),
        }
    }

    #[test]
    fn malformed_templates_say_where() {
        assert_eq!(reason("https://e.com/{id").0, 14);
        assert_eq!(reason("a{}").0, 2);
        assert_eq!(
            reason("a{=x}").1,
            "operator is reserved for future extensions"
        );
        assert_eq!(reason("{x:0}").0, 3);
        assert_eq!(reason("{x:10000}").0, 3);
        assert_eq!(reason("{a,,b}").0, 3);
        assert_eq!(reason("{.a.}").0, 2);
        assert_eq!(reason("{a..b}").0, 1);
        assert_eq!(reason("a%2").0, 1);
        assert_eq!(reason("a b").0, 1);
        assert_eq!(reason("a}").0, 1);
        assert_eq!(reason("{a-b}").0, 1);
        assert_eq!(reason("\u{fdd0}").0, 0);
    }

    #[test]
    fn well_formed_templates_compile() {
        for template in [
            "{var}",
            "{%41b.c_1}",
            "{x:9999}",
            "{/a*,b:3,c}",
            "https://example.com/caf\u{e9}/{id}",
            "'quoted'{x}",
            "%7Bnot-an-expression%7D",
        ] {
            Template::compile(template).unwrap_or_else(|e| panic!("{template}: {e}"));
        }
    }

    #[test]
    fn literal_prefix_stops_at_the_first_expression() {
        let t = Template::compile("https://example.com/users/{id}/x").unwrap();
        assert_eq!(t.literal_prefix(), "https://example.com/users/");
        assert_eq!(Template::compile("{a}b").unwrap().literal_prefix(), "");
        assert_eq!(
            Template::compile("plain").unwrap().literal_prefix(),
            "plain"
        );
    }

    #[test]
    fn a_template_without_expressions_matches_its_text_only() {
        let t = Template::compile("https://example.com/books/1").unwrap();
        assert!(t.regex.is_none());
        assert!(t.is_match("https://example.com/books/1"));
        assert!(!t.is_match("https://example.com/books/10"));
        assert!(!t.is_match("https://example.com/books/"));
        // Still checked as a template.
        assert!(Template::compile("https://example.com/a b").is_err());
    }

    #[test]
    fn prefix_lengths_count_characters_not_bytes() {
        let t = Template::compile("x/{v:2}").unwrap();
        assert!(t.is_match("x/%C3%A9%E2%82%AC"));
        assert!(!t.is_match("x/%C3%A9%E2%82%ACa"));
        assert!(t.is_match("x/ab"));
        assert!(!t.is_match("x/abc"));
    }

    #[test]
    fn oversized_expressions_are_refused_not_compiled() {
        // Bounded prefixes and long variable lists grow the automaton; past
        // the size bound they are refused.
        assert!(Template::compile("x/{v:100}").is_ok());
        assert_eq!(
            Template::compile("x/{v:1000}").unwrap_err(),
            PatternError::TooComplex
        );
        let vars = |n: usize| {
            (0..n)
                .map(|i| format!("v{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let twenty = Template::compile(&format!("{{?{}}}", vars(20))).unwrap();
        assert!(twenty.is_match("?v0=1&v19=2"));
        assert!(!twenty.is_match("?v19=2&v0=1"));
        assert_eq!(
            Template::compile(&format!("{{?{}}}", vars(40))).unwrap_err(),
            PatternError::TooComplex
        );
        // From the longest topic on, a prefix bounds nothing and costs nothing.
        assert!(Template::compile(&format!("x/{{v:{MAX_TOPIC_LEN}}}")).is_ok());
    }
}
