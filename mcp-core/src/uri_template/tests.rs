use std::collections::BTreeMap;

use super::*;

fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    UriTemplate::parse(template)
        .unwrap()
        .matches(uri)
        .map(|m| m.into_iter().collect())
}

fn pairs(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The variables of RFC 6570's examples (section 3.2.1, those without
/// lists or maps).
fn rfc_values() -> BTreeMap<String, String> {
    pairs(&[
        ("var", "value"),
        ("hello", "Hello World!"),
        ("path", "/foo/bar"),
        ("empty", ""),
        ("x", "1024"),
        ("y", "768"),
    ])
}

#[test]
fn rfc_6570_level_1_and_2_examples_expand() {
    let table = [
        // Level 1.
        ("{var}", "value"),
        ("{hello}", "Hello%20World%21"),
        // Level 2.
        ("{+var}", "value"),
        ("{+hello}", "Hello%20World!"),
        ("{+path}/here", "/foo/bar/here"),
        ("here?ref={+path}", "here?ref=/foo/bar"),
        ("X{#var}", "X#value"),
        ("X{#hello}", "X#Hello%20World!"),
    ];
    for (template, expected) in table {
        let parsed = UriTemplate::parse(template).unwrap();
        assert_eq!(parsed.expand(&rfc_values()), expected, "{template}");
    }
}

#[test]
fn rfc_6570_level_3_examples_expand_or_are_refused() {
    // The query form is the one level-3 form a matcher can invert.
    for (template, expected) in [
        ("{?x,y}", "?x=1024&y=768"),
        ("{?x,y,empty}", "?x=1024&y=768&empty="),
    ] {
        let parsed = UriTemplate::parse(template).unwrap();
        assert_eq!(parsed.expand(&rfc_values()), expected, "{template}");
    }
    // The others put several values in one segment, or use operators whose
    // values could not be told apart: each is refused where it starts.
    let refused = [
        ("map?{x,y}", 4, UriTemplateErrorKind::List("x,y".into())),
        (
            "{x,hello,y}",
            0,
            UriTemplateErrorKind::List("x,hello,y".into()),
        ),
        (
            "{+x,hello,y}",
            0,
            UriTemplateErrorKind::List("+x,hello,y".into()),
        ),
        (
            "{+path,x}/here",
            0,
            UriTemplateErrorKind::List("+path,x".into()),
        ),
        (
            "{#x,hello,y}",
            0,
            UriTemplateErrorKind::List("#x,hello,y".into()),
        ),
        (
            "{#path,x}/here",
            0,
            UriTemplateErrorKind::List("#path,x".into()),
        ),
        ("X{.var}", 1, UriTemplateErrorKind::UnsupportedOperator('.')),
        ("X{.x,y}", 1, UriTemplateErrorKind::UnsupportedOperator('.')),
        ("{/var}", 0, UriTemplateErrorKind::UnsupportedOperator('/')),
        (
            "{/var,x}/here",
            0,
            UriTemplateErrorKind::UnsupportedOperator('/'),
        ),
        ("{;x,y}", 0, UriTemplateErrorKind::UnsupportedOperator(';')),
        (
            "{;x,y,empty}",
            0,
            UriTemplateErrorKind::UnsupportedOperator(';'),
        ),
        (
            "?fixed=yes{&x}",
            10,
            UriTemplateErrorKind::UnsupportedOperator('&'),
        ),
        (
            "{&x,y,empty}",
            0,
            UriTemplateErrorKind::UnsupportedOperator('&'),
        ),
    ];
    for (template, offset, kind) in refused {
        let error = UriTemplate::parse(template).unwrap_err();
        assert_eq!((error.offset, error.kind), (offset, kind), "{template}");
    }
}

#[test]
fn errors_carry_the_offset_of_what_is_wrong() {
    let error = |t: &str| {
        let e = UriTemplate::parse(t).unwrap_err();
        (e.offset, e.kind)
    };
    assert_eq!(error("a://{x"), (4, UriTemplateErrorKind::Unclosed));
    assert_eq!(error("a://x}"), (5, UriTemplateErrorKind::Unopened));
    assert_eq!(error("a}b{x}"), (1, UriTemplateErrorKind::Unopened));
    assert_eq!(
        error("a://{x}/{x}"),
        (9, UriTemplateErrorKind::Repeated("x".into()))
    );
    assert_eq!(
        error("a://{?a, b,a}"),
        (11, UriTemplateErrorKind::Repeated("a".into()))
    );
    assert_eq!(
        error("a://{}"),
        (5, UriTemplateErrorKind::InvalidName(String::new()))
    );
    assert_eq!(
        error("a://{?a,b-c}"),
        (8, UriTemplateErrorKind::InvalidName("?a,b-c".into()))
    );
    assert_eq!(
        error("a://{+#x}"),
        (4, UriTemplateErrorKind::TwoOperators("+#x".into()))
    );
    assert_eq!(
        UriTemplate::parse("a://{x").unwrap_err().to_string(),
        "invalid URI template `a://{x`: a `{` is never closed"
    );
}

#[test]
fn templates_match_and_extract() {
    assert_eq!(
        vars("test://template/{id}/data", "test://template/42/data"),
        Some(vec![("id".into(), "42".into())])
    );
    assert_eq!(
        vars("test://template/{id}/data", "test://template/4/2/data"),
        None
    );
    assert_eq!(
        vars("file:///{+path}", "file:///a/b/c.txt"),
        Some(vec![("path".into(), "a/b/c.txt".into())])
    );
    assert_eq!(
        vars("users://{id}{?fields,limit}", "users://7?limit=3"),
        Some(vec![
            ("id".into(), "7".into()),
            ("limit".into(), "3".into())
        ])
    );
    assert_eq!(
        vars("notes://{name}", "notes://hello%20world"),
        Some(vec![("name".into(), "hello world".into())])
    );
    assert_eq!(vars("notes://{name}", "notes://"), None);
    assert_eq!(vars("a://{x}", "b://1"), None);
    assert_eq!(
        vars("a://{x}{#frag}", "a://1#p/q"),
        Some(vec![
            ("frag".into(), "p/q".into()),
            ("x".into(), "1".into())
        ])
    );
    assert_eq!(vars("a://{x}{#frag}", "a://1"), None);
    assert_eq!(
        UriTemplate::parse("a://{x}/{+y}{?z,w}")
            .unwrap()
            .variables(),
        ["x", "y", "z", "w"]
    );
    assert!(
        UriTemplate::parse("a://static")
            .unwrap()
            .variables()
            .is_empty()
    );
}

#[test]
fn matching_takes_linear_time_on_uris_that_almost_match() {
    // Five adjacent `{+var}`s and a URI that fails only at its end: a
    // backtracking matcher tries every split, C(3000, 5) of them.
    let template = UriTemplate::parse("t://{+a}{+b}{+c}{+d}{+e}/end").unwrap();
    let uri = format!("t://{}/nope", "x/".repeat(1500));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(template.matches(&uri));
    });
    let result = rx.recv_timeout(std::time::Duration::from_secs(10));
    assert_eq!(result, Ok(None), "matching did not finish in 10 s");
}

#[test]
fn a_query_after_a_reserved_variable_is_read_as_the_query() {
    assert_eq!(
        vars("file:///{+path}{?rev}", "file:///a/b.txt?rev=2"),
        Some(vec![
            ("path".into(), "a/b.txt".into()),
            ("rev".into(), "2".into())
        ])
    );
    // A `?` that starts no known parameter stays in the value.
    assert_eq!(
        vars("file:///{+path}{?rev}", "file:///a?b"),
        Some(vec![("path".into(), "a?b".into())])
    );
}

#[test]
fn percent_escapes_need_two_hex_digits() {
    assert_eq!(vars("notes://{name}", "notes://%+1"), None);
    assert_eq!(vars("notes://{name}", "notes://%4"), None);
    assert_eq!(
        vars("notes://{name}", "notes://%4a"),
        Some(vec![("name".into(), "J".into())])
    );
}

#[test]
fn a_reserved_value_keeps_its_slashes_and_an_escaped_slash_decodes() {
    let template = UriTemplate::parse("file:///{+path}").unwrap();
    // `%2F` and `/` match as the same value: a reserved expansion cannot
    // tell them apart, so it writes the value back with `/`.
    let slash = template.matches("file:///a/b").unwrap();
    let escaped = template.matches("file:///a%2Fb").unwrap();
    assert_eq!(slash, escaped);
    assert_eq!(template.expand(&escaped), "file:///a/b");
    // A `%` in a value is escaped, so the value comes back as it was.
    let values = pairs(&[("path", "a%2Fb")]);
    assert_eq!(template.expand(&values), "file:///a%252Fb");
    assert_eq!(template.matches(&template.expand(&values)), Some(values));
}

/// A small deterministic generator (xorshift64*), so the property tests
/// need no dependency and fail the same way every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    /// A non-empty value drawn from characters every part treats
    /// differently: reserved, unreserved, `%`, space, non-ASCII.
    fn value(&mut self) -> String {
        const CHARS: &[char] = &[
            'a', 'Z', '0', '-', '.', '_', '~', '/', '?', '#', '&', '=', '%', ' ', '+', ':', '@',
            '!', 'é', '€', '😀',
        ];
        let len = 1 + self.below(8);
        (0..len).map(|_| CHARS[self.below(CHARS.len())]).collect()
    }
}

/// Templates whose matcher has no choice of split: each variable is
/// followed by a `/` literal, the end, or the query.
fn unambiguous_template(rng: &mut Rng, reserved: bool) -> (String, Vec<String>) {
    let mut template = String::from("t://");
    let mut names = Vec::new();
    let segments = 1 + rng.below(3);
    for i in 0..segments {
        let name = format!("v{i}");
        template.push_str(&format!("{{{name}}}/"));
        names.push(name);
        if rng.below(2) == 0 {
            template.push_str("lit/");
        }
    }
    if reserved {
        template.push_str("{+rest}");
        names.push("rest".into());
    }
    if rng.below(2) == 0 {
        template.push_str("{?q,r}");
        names.extend(["q".into(), "r".into()]);
    }
    (template, names)
}

#[test]
fn expanding_then_matching_gives_simple_and_reserved_values_back() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..2_000 {
        let (template, names) = unambiguous_template(&mut rng, round % 2 == 1);
        let parsed = UriTemplate::parse(&template).unwrap();
        let mut values = BTreeMap::new();
        for name in names {
            // Query parameters are optional: leave some out.
            if name.len() == 1 && rng.below(3) == 0 {
                continue;
            }
            values.insert(name, rng.value());
        }
        let uri = parsed.expand(&values);
        assert_eq!(
            parsed.matches(&uri).as_ref(),
            Some(&values),
            "`{uri}` from `{template}`"
        );
    }
}

#[test]
fn any_uri_that_matches_expands_back_to_the_same_decoded_uri() {
    let mut rng = Rng(42);
    let template = UriTemplate::parse("t://{a}/{+b}{?c,d}").unwrap();
    let mut matched = 0;
    for _ in 0..2_000 {
        let uri = format!("t://{}", rng.value());
        let Some(values) = template.matches(&uri) else {
            continue;
        };
        matched += 1;
        let again = template.expand(&values);
        assert_eq!(
            template.matches(&again),
            Some(values),
            "`{uri}` then `{again}`"
        );
    }
    // The property says nothing unless enough URIs match.
    assert!(matched > 100, "only {matched} URIs matched");
}

#[test]
fn adjacent_variables_never_split_an_escaped_character() {
    // Five reserved variables over `x/x/x/` and three escaped characters,
    // one of them three bytes long: each variable must take whole
    // characters, or its value would not decode and the URI would not match.
    let template = UriTemplate::parse("t://{+a}{+b}{+c}{+d}{+e}/end").unwrap();
    let variables = template.matches("t://x/x/x/%7F%EF%BF%BDe%7D/end").unwrap();
    assert_eq!(
        variables.values().cloned().collect::<String>(),
        "x/x/x/\u{7f}\u{fffd}e}"
    );
    let simple = UriTemplate::parse("t://{a}{b}").unwrap();
    let variables = simple.matches("t://%C3%A9%E2%82%AC").unwrap();
    assert_eq!(variables["a"], "\u{e9}");
    assert_eq!(variables["b"], "\u{20ac}");
    // A lone lead byte still does not decode, so still does not match.
    assert_eq!(simple.matches("t://%C3x"), None);
}
