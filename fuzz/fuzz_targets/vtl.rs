//! Mapping templates: fixed templates rendered over a hostile request (body, query, headers,
//! path parameters), and hostile templates parsed and rendered. The first byte picks which; the
//! rest is `[template SEP] request`, the request written as
//! `query string`, `name: value` header lines, `:name: value` path parameters, a blank line and
//! the body.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tollgate_core::auth::lambda::query_parameters;
use tollgate_core::vtl::{Input, Template};
use tollgate_fuzz::{sections, Message};

/// Templates that reach every object, builtin and directive with request data.
const TEMPLATES: &[&str] = &[
    "{\"pet\": $input.json('$'), \"name\": \"$input.path('$.name')\", \"first\": $input.json('$.tags[0]'), \"deep\": $input.json('$..id')}",
    "#set($b = $input.path('$'))\n#foreach($k in $b.keySet())\"$k\": \"$util.escapeJavaScript($b.get($k))\"#if($foreach.hasNext),#end\n#end",
    "#set($all = $input.params())\n#foreach($type in $all.keySet())#set($params = $all.get($type))\n$type: #foreach($p in $params.keySet())$p=$util.urlEncode($params.get($p)) #end\n#end",
    "$input.body|$util.base64Encode($input.body)|$util.base64Decode($input.params('b'))|$util.urlDecode($input.params('u'))",
    "#set($j = $util.parseJson($input.params('j')))$j #if($j.size() > 0)$j[0]$j.get(0)#end $j.a.b.c",
    "#set($s = $input.params('s'))$s.length() $s.toUpperCase() $s.substring(1) $s.substring(1, 3) $s.replace('a', 'b') $s.replaceAll('[0-9]+', '#') $s.split(',') $s.indexOf('x') $s.matches('^a.*') $s.trim() $s.charAt(0) $s.startsWith('a') $s.contains('z')",
    "#set($n = $input.path('$.n'))#set($m = $n * 3 + 1)$m $n / 2 $n % 7 #if($n > 10 && $n < 100 || !$n)x#elseif($n == 'a')y#{else}z#end",
    "#foreach($i in [1..$input.params('count')])$i#if($i == 5)#break#end#end #foreach($x in $input.path('$.tags'))$velocityCount:$x.id #end",
    "#set($map = {})#set($list = [])#foreach($h in $input.params().header.entrySet())#set($ok = $list.add($h.key))$map.put($h.key, $h.value)#end$list $map.size() $list.contains('x-h')",
    "$context.requestId $context.identity.sourceIp $context.authorizer.claims.sub ${stageVariables.tier} $stageVariables['backend'] $!missing \\$input #[[raw $x]]# ## comment\n#* block *#",
    "$input.json($input.params('p')) $input.path($input.params('p'))",
];

thread_local! {
    static PARSED: Vec<Template> =
        TEMPLATES.iter().map(|t| Template::parse(t).expect("a fixed template")).collect();
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let context = json!({
        "requestId": "r-1", "stage": "dev", "identity": {"sourceIp": "10.1.2.3", "apiKeyId": "k1"},
        "authorizer": {"principalId": "user-7", "claims": {"sub": "user-1", "scope": "a b"}},
    });
    let vars = BTreeMap::from([
        ("tier".to_string(), "gold".to_string()),
        ("backend".into(), "pets".into()),
    ]);
    if mode % 2 == 0 {
        let msg = Message::parse(rest);
        PARSED.with(|templates| {
            for template in templates {
                render(template, &msg, &context, &vars);
            }
        });
    } else {
        let parts = sections(rest);
        let source = String::from_utf8_lossy(parts.first().copied().unwrap_or_default());
        let msg = Message::parse(
            parts.get(1).copied().unwrap_or(b"q=1\nx-h: v\n:id: 7\n\n{\"a\": [1, {\"b\": 2}]}"),
        );
        if let Ok(template) = Template::parse(&source) {
            assert_eq!(template.source(), source);
            render(&template, &msg, &context, &vars);
        }
    }
});

fn render(
    template: &Template,
    msg: &Message,
    context: &serde_json::Value,
    vars: &BTreeMap<String, String>,
) {
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    let path: Vec<(String, String)> = msg
        .headers
        .iter()
        .filter_map(|(n, v)| n.strip_prefix(':').map(|n| (n.to_string(), text(v))))
        .collect();
    let header: Vec<(String, String)> = msg
        .headers
        .iter()
        .filter(|(n, _)| !n.starts_with(':'))
        .map(|(n, v)| (n.clone(), text(v)))
        .collect();
    let querystring = query_parameters(&msg.first);
    let input = Input {
        body: &msg.body,
        path: &path,
        querystring: &querystring,
        header: &header,
        context,
        stage_variables: vars,
        json: None,
    };
    let _ = template.render(&input);
}
