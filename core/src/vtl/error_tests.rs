//! Malformed templates (rejected at parse time with the right line), and the limits that
//! make a render fail instead of looping, overflowing the stack, or growing without bound.

use super::*;
use crate::test_support::test;

fn render_with_body(source: &str, body: &str) -> Result<String, RenderError> {
    let context = serde_json::json!({"stage": "prod"});
    let vars = BTreeMap::new();
    let input = Input {
        body: body.as_bytes(),
        path: &[],
        querystring: &[],
        header: &[],
        context: &context,
        stage_variables: &vars,
        json: None,
    };
    Template::parse(source).unwrap().render(&input)
}

fn render(source: &str) -> Result<String, RenderError> {
    render_with_body(source, "")
}

#[test]
fn malformed_templates_name_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("{\n  \"a\": 1,\n#if($x)\n  \"b\": 2\n}", 3, "#if opened on line 3 has no #end"),
        ("a\n#foreach($i in [1..3])\n#if($i)\n#end\n", 2, "#foreach opened on line 2"),
        ("ok\nstill ok\n  #end", 3, "#end without a matching"),
        ("#if($a)\n#else\n#else\n#end", 3, "#else after #else"),
        ("\n\n#elseif($a)", 3, "#elseif without a matching #if"),
        ("x\n#set $x = 1", 2, "#set must be followed by `(`"),
        ("x\n#set($x 1)", 2, "expected `=` in #set"),
        ("#set($x.size() = 1)", 1, "#set needs"),
        ("a\nb\n#set($s = 'unterminated)\n", 3, "unterminated string"),
        ("a\n  \"k\": \"#foo($x)\"", 2, "unknown directive #foo"),
        ("#macro(m)x#end", 1, "#macro is not supported"),
        ("#foreach($x of $list)#end", 1, "expected `in`"),
        ("line1\n#if($a == )x#end", 2, "unexpected `)`"),
        ("line1\nline2\n$a.b($c", 3, "expected `,` or `)`"),
        ("1\n2\n3\n#* never closed", 4, "#* comment is never closed"),
        ("#[[ raw", 1, "#[[ is never closed"),
        ("x\n$input.json('$.a[?(@.b)]')", 2, "invalid JSONPath"),
        ("#if($a)\n#set($m = {'k' 'v'})\n#end", 2, "expected `:` in map"),
    ];
    for (source, line, message) in cases {
        let err = Template::parse(source).expect_err(source);
        assert_eq!(err.line, *line, "{source:?}: {err}");
        assert!(err.message.contains(message), "{source:?}: {err}");
    }
}

#[test]
fn error_display_names_line_and_column() {
    let err = Template::parse("ab\n  #end").unwrap_err();
    assert_eq!((err.line, err.column), (2, 3));
    assert_eq!(err.to_string(), "line 2, column 3: #end without a matching #if or #foreach");
}

#[test]
fn foreach_stops_after_1000_iterations() {
    let items: Vec<String> = (1..=5000).map(|i| i.to_string()).collect();
    let body = format!("{{\"items\": [{}]}}", items.join(","));
    let out = render_with_body(
        "#set($n = 0)#foreach($i in $input.path('$.items'))#set($n = $n + 1)#set($last = $i)#end$n $last",
        &body,
    )
    .unwrap();
    assert_eq!(out, "1000 1000");
    // Ranges too, and the last iteration run reports no next one.
    let out = render("#foreach($i in [1..5000])#if(!$foreach.hasNext)$i#end#end").unwrap();
    assert_eq!(out, "1000");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let ifs = "#if(true)".repeat(500) + &"#end".repeat(500);
    let err = Template::parse(&ifs).unwrap_err();
    assert!(err.message.contains("nesting deeper than 64"), "{err}");
    let parens = format!("#set($x = {}1{})", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Template::parse(&parens).unwrap_err().message.contains("nesting"));
    let lists = format!("#set($x = {}{})", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Template::parse(&lists).is_err());
    let nots = format!("#if({}true)#end", "!".repeat(10_000));
    assert!(Template::parse(&nots).is_err());
    let in_string = format!("#set($x = \"{}{}\")", "#if(true)".repeat(100), "#end".repeat(100));
    assert!(Template::parse(&in_string).unwrap_err().message.contains("nesting"));
    // 64 levels are fine.
    let ok = "#if(true)".repeat(60) + "x" + &"#end".repeat(60);
    assert_eq!(render(&ok).unwrap(), "x");
}

#[test]
fn values_nested_past_the_cap_fail_the_render() {
    let source = "#set($a = [])#foreach($i in [1..1000])#set($a = [$a])#end$a.size()";
    assert_eq!(render(source), Err(RenderError::TooDeep));
    let source = "#set($m = {})#set($cur = $m)#foreach($i in [1..300])#set($m = {'k': $m})#end";
    assert_eq!(render(source), Err(RenderError::TooDeep));
}

#[test]
fn output_and_strings_are_capped() {
    let doubling = "#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..40])#set($s = \"$s$s\")#end";
    assert_eq!(render(doubling), Err(RenderError::OutputTooLarge));
    let concat = "#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..40])#set($s = $s + $s)#end";
    assert_eq!(render(concat), Err(RenderError::OutputTooLarge));
    let body = format!("{{\"s\": \"{}\"}}", "y".repeat(100_000));
    let big = "#set($s = $input.path('$.s'))#foreach($i in [1..200])$s#end";
    assert_eq!(render_with_body(big, &body), Err(RenderError::OutputTooLarge));
    let list = "#set($l = [])#foreach($i in [1..200])#set($ok = $l.add($input.path('$.s')))#end$l";
    assert_eq!(render_with_body(list, &body), Err(RenderError::OutputTooLarge));
}

#[test]
fn loop_work_per_render_is_capped() {
    let nested = "#foreach($a in [1..1000])#foreach($b in [1..1000])#end#end";
    assert_eq!(render(nested), Err(RenderError::TooManyIterations));
    assert_eq!(render("#set($r = [1..100000])"), Err(RenderError::RangeTooLarge));
    assert_eq!(render("#set($r = [1..5])$r"), Ok("[1, 2, 3, 4, 5]".to_string()));
}

#[test]
fn invalid_json_body_fails_only_when_read_as_json() {
    assert_eq!(render_with_body("$input.body", "not json"), Ok("not json".to_string()));
    let err = render_with_body("$input.json('$')", "not json").unwrap_err();
    assert!(matches!(err, RenderError::InvalidJsonBody(_)), "{err:?}");
    assert!(err.to_string().starts_with("Could not parse request body into json"));
    // A template that does not read the body as JSON never parses it.
    assert_eq!(render_with_body("$context.stage", "{"), Ok("prod".to_string()));
}

#[test]
fn dynamic_bad_json_path_reads_as_missing() {
    let out = render_with_body("#set($p = '$.a[?(@.x)]')[$input.json($p)] [$input.path($p)]", "{}");
    assert_eq!(out, Ok("[\"\"] []".to_string()));
}

#[test]
fn wide_json_objects_read_in_linear_time() {
    let members: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\": {i}")).collect();
    let body = format!("{{{}, \"k7\": \"last wins\"}}", members.join(","));
    let source = "#set($o = $input.path('$'))$o.size() $o.k49999 $o.get('k7') #set($gone = $o.remove('k0'))$o.size() [$!o.k0] $o.k1";
    assert_eq!(render_with_body(source, &body).unwrap(), "50000 49999 last wins 49999 [] 1");
}

#[test]
fn many_headers_stay_case_insensitive() {
    let header: Vec<(String, String)> =
        (0..40).map(|i| (format!("X-Header-{i}"), format!("v{i}"))).collect();
    let context = serde_json::json!({});
    let vars = BTreeMap::new();
    let input = Input {
        body: b"",
        path: &[],
        querystring: &[],
        header: &header,
        context: &context,
        stage_variables: &vars,
        json: None,
    };
    let source = "$input.params('x-header-39') $input.params().header.get('X-HEADER-0') $input.params().header.size()";
    assert_eq!(Template::parse(source).unwrap().render(&input).unwrap(), "v39 v0 40");
}
