//! API Gateway's API key file (`ImportApiKeys`, CSV): a header naming the columns in any order
//! and any case (`Name` and `Key` required; `Description`, `Enabled`, `UsagePlanIds` optional;
//! others ignored), then one key per line. A field may be quoted with `"` or `'` (a doubled
//! quote inside is one quote), as several plan ids are: `"c7y23b,glvrsr"`. A key value has 20
//! to 128 characters, a name at most 1,024; a missing `Enabled` is true. The same key value
//! imported twice is one key, the later line winning.

use std::collections::{HashMap, HashSet};

use tollgate_core::apikey::{hash_key, KeyHash};
use tollgate_core::config::ApiKey;
use tollgate_core::text::hex::hex;

/// One key of the file, its value already hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKey {
    /// The line it came from (1 is the header).
    pub line: usize,
    pub name: String,
    /// Kept only by the key store (the spec's keys have no description).
    pub description: String,
    pub value_sha256: String,
    pub enabled: bool,
    pub usage_plan_ids: Vec<String>,
}

/// Reads the file's keys; an error names the line and the column.
pub fn parse(text: &str) -> Result<Vec<FileKey>, String> {
    let mut columns: Option<Columns> = None;
    let mut keys: Vec<FileKey> = Vec::new();
    // Where each value's key is in `keys`.
    let mut at: HashMap<KeyHash, usize> = HashMap::new();
    records(text, |line, row| {
        let Some(columns) = &columns else {
            columns = Some(Columns::of(row)?);
            return Ok(());
        };
        let Some((digest, key)) = columns.key(line, row)? else { return Ok(()) };
        match at.get(&digest).and_then(|&n| keys.get_mut(n)) {
            Some(earlier) => *earlier = key,
            None => {
                at.insert(digest, keys.len());
                keys.push(key);
            }
        }
        Ok(())
    })?;
    if columns.is_none() {
        return Err("the file is empty".into());
    }
    Ok(keys)
}

/// Where the header puts each column.
struct Columns {
    name: usize,
    key: usize,
    enabled: Option<usize>,
    plans: Option<usize>,
    description: Option<usize>,
}

impl Columns {
    fn of(header: &[String]) -> Result<Columns, String> {
        let column = |name: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
        let (Some(name), Some(key)) = (column("name"), column("key")) else {
            return Err("line 1: the header needs the columns Name and Key".into());
        };
        Ok(Columns {
            name,
            key,
            enabled: column("enabled"),
            plans: column("usageplanids"),
            description: column("description"),
        })
    }

    /// The key of one line, and its value's SHA-256 (`None` for a blank line).
    fn key(&self, line: usize, row: &[String]) -> Result<Option<(KeyHash, FileKey)>, String> {
        if row.iter().all(|f| f.trim().is_empty()) {
            return Ok(None);
        }
        let field = |at: Option<usize>| at.and_then(|i| row.get(i)).map_or("", |f| f.trim());
        let value = field(Some(self.key));
        if !(20..=128).contains(&value.chars().count()) {
            return Err(format!(
                "line {line}: Key: a key value has 20 to 128 characters ({} here)",
                value.chars().count()
            ));
        }
        let name = field(Some(self.name));
        if name.chars().count() > 1024 {
            return Err(format!("line {line}: Name: more than 1,024 characters"));
        }
        let enabled = match field(self.enabled).to_ascii_lowercase().as_str() {
            "" | "true" => true,
            "false" => false,
            other => return Err(format!("line {line}: Enabled: `{other}` is not TRUE or FALSE")),
        };
        let usage_plan_ids = field(self.plans)
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        let digest = hash_key(value.as_bytes());
        let key = FileKey {
            line,
            name: name.to_string(),
            description: field(self.description).to_string(),
            value_sha256: hex(&digest),
            enabled,
            usage_plan_ids,
        };
        Ok(Some((digest, key)))
    }
}

/// Puts the file's keys into `existing`: a key whose value is already there replaces that key
/// (keeping its id); a new one is named by its `Name` when that is a free id, else
/// `key-{12 hex digits of its hash}`. Returns how many were added and replaced.
pub fn merge(existing: &mut Vec<ApiKey>, keys: Vec<FileKey>) -> (usize, usize) {
    let (mut added, mut replaced) = (0, 0);
    let mut by_value: HashMap<String, usize> =
        existing.iter().enumerate().map(|(n, k)| (k.value_sha256.clone(), n)).collect();
    let mut ids: HashSet<String> = existing.iter().map(|k| k.id.clone()).collect();
    for key in keys {
        if let Some(old) = by_value.get(&key.value_sha256).and_then(|&n| existing.get_mut(n)) {
            old.name = key.name;
            old.enabled = key.enabled;
            old.usage_plan_ids = key.usage_plan_ids;
            replaced += 1;
            continue;
        }
        let id = new_key_id(&key, |id| ids.contains(id));
        ids.insert(id.clone());
        by_value.insert(key.value_sha256.clone(), existing.len());
        existing.push(ApiKey {
            id,
            name: key.name,
            value_sha256: key.value_sha256,
            enabled: key.enabled,
            usage_plan_ids: key.usage_plan_ids,
        });
        added += 1;
    }
    (added, replaced)
}

/// The id of a new key: its `Name` when that is an id and not `taken`, else `key-` and the first
/// 12 hex digits of its hash.
pub fn new_key_id(key: &FileKey, taken: impl Fn(&str) -> bool) -> String {
    if name_is_id(key) && !taken(&key.name) {
        key.name.clone()
    } else {
        fallback_id(key)
    }
}

/// Whether the key's `Name` can be its id.
pub fn name_is_id(key: &FileKey) -> bool {
    tollgate_core::text::is_id(&key.name)
}

/// `key-` and the first 12 hex digits of the key's hash.
pub fn fallback_id(key: &FileKey) -> String {
    format!("key-{}", key.value_sha256.get(..12).unwrap_or_default())
}

/// Calls `each` with every record of the file and the line it starts on: fields split at
/// commas outside quotes.
fn records(
    text: &str,
    mut each: impl FnMut(usize, &[String]) -> Result<(), String>,
) -> Result<(), String> {
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let (mut line, mut start) = (1, 1);
    let mut quote: Option<char> = None;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                if chars.peek() == Some(&q) {
                    chars.next();
                    field.push(q);
                } else {
                    quote = None;
                }
            }
            (Some(_), c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (None, '"' | '\'') if field.trim().is_empty() => {
                field.clear();
                quote = Some(c);
            }
            (None, ',') => fields.push(std::mem::take(&mut field)),
            (None, '\r') => {}
            (None, '\n') => {
                fields.push(std::mem::take(&mut field));
                each(start, &fields)?;
                fields.clear();
                line += 1;
                start = line;
            }
            (None, c) => field.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("line {start}: a quoted field is not closed"));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        each(start, &fields)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::apikey::hash_key_hex;

    const A: &str = "apikey1234abcdefghij0123456789";
    const B: &str = "another-key-value-0123456789";

    #[test]
    fn aws_examples_read_as_documented() {
        let keys = parse(&format!("Key,name\n{A},MyFirstApiKey\n")).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].name, "MyFirstApiKey");
        assert_eq!(keys[0].value_sha256, hash_key_hex(A.as_bytes()));
        assert!(keys[0].enabled && keys[0].usage_plan_ids.is_empty());
        let keys = parse(&format!(
            "Name,key,description,Enabled,usageplanIds\nMyFirstApiKey,{A},An imported key,TRUE,c7y23b\n"
        ))
        .unwrap();
        assert_eq!(keys[0].usage_plan_ids, ["c7y23b"]);
        assert_eq!(keys[0].description, "An imported key");
        let keys = parse(&format!(
            "Enabled,Name,key,UsageplanIds\r\ntrue,MyFirstApiKey,{A},\"c7y23b,glvrsr\"\r\n"
        ))
        .unwrap();
        assert_eq!(keys[0].usage_plan_ids, ["c7y23b", "glvrsr"]);
        let keys = parse(&format!("name,key,usageplanids,colour\nx,{A},'p1,p2',blue\n")).unwrap();
        assert_eq!(keys[0].usage_plan_ids, ["p1", "p2"]);
    }

    #[test]
    fn the_later_line_of_a_key_wins_and_disabled_keys_stay_disabled() {
        let keys =
            parse(&format!("name,key,enabled\nfirst,{A},TRUE\nb,{B},false\nsecond,{A},FALSE\n"))
                .unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!((keys[0].name.as_str(), keys[0].enabled, keys[0].line), ("second", false, 4));
        assert!(!keys[1].enabled);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let cases = [
            (String::new(), "empty"),
            (format!("key\n{A}\n"), "line 1: the header needs the columns Name and Key"),
            (
                "name,key\nx,short\n".to_string(),
                "line 2: Key: a key value has 20 to 128 characters",
            ),
            (format!("name,key,enabled\nx,{A},maybe\n"), "line 2: Enabled: `maybe`"),
            (format!("name,key\nx,\"{A}\n"), "line 2: a quoted field is not closed"),
        ];
        for (text, expected) in cases {
            let err = parse(&text).unwrap_err();
            assert!(err.contains(expected), "{expected}\n  in: {err}");
        }
    }

    #[test]
    fn merging_keeps_ids_and_names_new_keys() {
        let mut existing = vec![ApiKey {
            id: "old".into(),
            name: "old".into(),
            value_sha256: hash_key_hex(A.as_bytes()),
            enabled: true,
            usage_plan_ids: vec![],
        }];
        let text = format!("name,key,usageplanids\nrenamed,{A},gold\nold,{B},gold\n");
        assert_eq!(merge(&mut existing, parse(&text).unwrap()), (1, 1));
        assert_eq!(existing[0].id, "old");
        assert_eq!(
            (existing[0].name.as_str(), existing[0].usage_plan_ids.clone()),
            ("renamed", vec!["gold".to_string()])
        );
        // `old` is taken: the new key is named after its hash.
        let hash = hash_key_hex(B.as_bytes());
        assert_eq!(existing[1].id, format!("key-{}", &hash[..12]));
    }
}
