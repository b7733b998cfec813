//! Keyword search that works for Chinese, which has no spaces between words, on any SQL
//! engine and without database extensions.
//!
//! A text becomes a set of *terms*: overlapping pairs of Chinese characters (bigrams, so
//! 梨锈病 gives 梨锈 and 锈病) and lowercase ASCII words or numbers. Question words and
//! particles (怎么, 什么, 哪些, 吗…) split the text instead of producing terms, so two
//! questions do not look alike just because both ask "how". A few official terms are also
//! indexed under their everyday abbreviation (最低生活保障 → 低保), the way cadres write.
//!
//! Storage keeps one row per (document, term) and counts shared terms in SQL; [`rank`] then
//! keeps the documents that share enough of the query and orders them. The same terms and
//! the same ranking serve answered questions and, later, policy documents.

/// Multi-character question words and fillers: separators, never terms.
const STOP_WORDS: [&str; 33] = [
    "为什么",
    "怎么办",
    "怎么样",
    "有没有",
    "是不是",
    "能不能",
    "可不可以",
    "怎么",
    "怎样",
    "什么",
    "如何",
    "哪些",
    "哪里",
    "哪个",
    "是否",
    "需要",
    "可以",
    "能否",
    "请问",
    "一下",
    "应该",
    "我们",
    "他们",
    "这个",
    "那个",
    "这些",
    "那些",
    "已经",
    "还有",
    "以及",
    "关于",
    "有关",
    "多少",
];

/// Single-character particles and conjunctions: separators too.
const STOP_CHARS: [char; 11] = [
    '吗', '呢', '吧', '啊', '呀', '的', '了', '和', '与', '及', '或',
];

/// Official terms and the abbreviation cadres use for them; a text containing either form is
/// indexed under the abbreviation, so 低保 finds 最低生活保障 and the other way round.
const ABBREVIATIONS: [(&str, &str); 5] = [
    ("最低生活保障", "低保"),
    ("基本医疗保险", "医保"),
    ("医疗保险", "医保"),
    ("社会保险", "社保"),
    ("新型农村合作医疗", "新农合"),
];

/// At most this many terms of a query are looked up (a query is a question, not a book).
pub const MAX_QUERY_TERMS: usize = 64;

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FFFF}')
}

fn push_unique(out: &mut Vec<String>, term: String) {
    if !out.contains(&term) {
        out.push(term);
    }
}

/// Ends a run of Chinese characters: its bigrams become terms; a lone character is kept
/// aside in `singles`.
fn flush_run(run: &mut Vec<char>, out: &mut Vec<String>, singles: &mut Vec<String>) {
    match run.len() {
        0 => {}
        1 => singles.push(run[0].to_string()),
        _ => {
            for pair in run.windows(2) {
                push_unique(out, pair.iter().collect());
            }
        }
    }
    run.clear();
}

/// Ends an ASCII word: words of two or more characters are terms.
fn flush_word(word: &mut String, out: &mut Vec<String>) {
    if word.chars().count() >= 2 {
        push_unique(out, word.clone());
    }
    word.clear();
}

/// The search terms of a text, in order of first appearance, without duplicates.
pub fn terms(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut singles: Vec<String> = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            let ahead: String = chars[i..].iter().take(4).collect();
            if let Some(stop) = STOP_WORDS.iter().find(|w| ahead.starts_with(**w)) {
                flush_run(&mut run, &mut out, &mut singles);
                i += stop.chars().count();
                continue;
            }
            if STOP_CHARS.contains(&c) {
                flush_run(&mut run, &mut out, &mut singles);
            } else {
                run.push(c);
            }
        } else if c.is_ascii_alphanumeric() {
            flush_run(&mut run, &mut out, &mut singles);
            word.push(c.to_ascii_lowercase());
        } else {
            flush_run(&mut run, &mut out, &mut singles);
            flush_word(&mut word, &mut out);
        }
        i += 1;
    }
    flush_run(&mut run, &mut out, &mut singles);
    flush_word(&mut word, &mut out);
    for (long, short) in ABBREVIATIONS {
        if text.contains(long) || text.contains(short) {
            push_unique(&mut out, short.to_string());
        }
    }
    // A lone character is a term only when the text has nothing better (a one-word query).
    if out.is_empty() {
        for s in singles {
            push_unique(&mut out, s);
        }
    }
    out
}

/// The terms of a query, capped at [`MAX_QUERY_TERMS`].
pub fn query_terms(text: &str) -> Vec<String> {
    let mut t = terms(text);
    t.truncate(MAX_QUERY_TERMS);
    t
}

/// A document that shares `shared` terms with the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<D> {
    pub doc: D,
    pub shared: usize,
}

/// Whether a document sharing `shared` of the query's `query_terms` terms is similar enough
/// to offer: at least two shared terms (or all of a one-term query) and at least a fifth of
/// the query, so a long question does not match on two everyday words.
pub fn is_relevant(shared: usize, query_terms: usize) -> bool {
    query_terms > 0 && shared >= query_terms.min(2) && shared * 5 >= query_terms
}

/// Keeps the relevant hits, most shared terms first (ties keep their given order, e.g.
/// newest first), at most `limit`.
pub fn rank<D>(query_terms: usize, hits: Vec<Hit<D>>, limit: usize) -> Vec<Hit<D>> {
    let mut kept: Vec<Hit<D>> = hits
        .into_iter()
        .filter(|h| is_relevant(h.shared, query_terms))
        .collect();
    kept.sort_by_key(|h| std::cmp::Reverse(h.shared));
    kept.truncate(limit);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn set(text: &str) -> HashSet<String> {
        terms(text).into_iter().collect()
    }

    fn shared(a: &str, b: &str) -> usize {
        set(a).intersection(&set(b)).count()
    }

    #[test]
    fn chinese_becomes_bigrams_split_at_question_words() {
        assert_eq!(terms("梨树梨锈病怎么治"), ["梨树", "树梨", "梨锈", "锈病"]);
        assert_eq!(
            terms("花卉苗木种植有补贴吗"),
            [
                "花卉", "卉苗", "苗木", "木种", "种植", "植有", "有补", "补贴"
            ]
        );
        assert_eq!(
            terms("低保申请需要哪些材料"),
            ["低保", "保申", "申请", "材料"]
        );
    }

    #[test]
    fn ascii_words_are_lowercased_and_duplicates_dropped() {
        assert_eq!(
            terms("5G基站 5G 覆盖 WiFi wifi"),
            ["5g", "基站", "覆盖", "wifi"]
        );
        assert_eq!(
            terms("a 1 b"),
            Vec::<String>::new(),
            "single letters are noise"
        );
    }

    #[test]
    fn punctuation_separates_and_nothing_is_left_of_blank_text() {
        assert_eq!(terms("村道，硬化？"), ["村道", "硬化"]);
        assert!(terms("").is_empty());
        assert!(terms("？？！！ …").is_empty());
        assert!(terms("怎么办？").is_empty(), "only a question word");
    }

    #[test]
    fn a_one_character_text_is_its_own_term() {
        assert_eq!(terms("猪"), ["猪"]);
        assert_eq!(terms("猪瘟"), ["猪瘟"]);
    }

    #[test]
    fn official_terms_are_indexed_under_their_abbreviation() {
        assert!(set("最低生活保障怎么申请").contains("低保"));
        assert!(set("新型农村合作医疗报销比例").contains("新农合"));
        assert!(set("新农合怎么交").contains("新农合"));
    }

    #[test]
    fn real_questions_match_their_kin_and_not_the_others() {
        // (query, earlier question, should it be offered)
        let cases = [
            ("梨树梨锈病怎么治", "梨锈病用什么药防治", true),
            ("梨树梨锈病怎么治", "最低生活保障怎么申请", false),
            ("花卉苗木种植有补贴吗", "种植花卉苗木有没有优惠政策", true),
            ("花卉苗木种植有补贴吗", "梨锈病用什么药防治", false),
            ("低保申请需要哪些材料", "最低生活保障怎么申请", true),
            ("低保申请需要哪些材料", "种植花卉苗木有没有优惠政策", false),
            ("医保怎么申请", "低保怎么申请", false),
            ("生猪养殖有什么补贴政策", "养殖生猪能申请哪些补贴", true),
        ];
        for (query, doc, similar) in cases {
            let q = terms(query).len();
            assert_eq!(
                is_relevant(shared(query, doc), q),
                similar,
                "{query} vs {doc}: shared {}, of {q}",
                shared(query, doc)
            );
        }
    }

    #[test]
    fn relevance_needs_two_terms_and_a_fifth_of_the_query() {
        assert!(!is_relevant(0, 0));
        assert!(is_relevant(1, 1));
        assert!(!is_relevant(1, 4));
        assert!(is_relevant(2, 4));
        assert!(is_relevant(2, 10));
        assert!(!is_relevant(2, 11));
        assert!(is_relevant(3, 15));
    }

    #[test]
    fn rank_orders_by_shared_terms_keeps_ties_in_order_and_limits() {
        let hits = vec![
            Hit {
                doc: 'a',
                shared: 2,
            },
            Hit {
                doc: 'b',
                shared: 1,
            },
            Hit {
                doc: 'c',
                shared: 4,
            },
            Hit {
                doc: 'd',
                shared: 2,
            },
            Hit {
                doc: 'e',
                shared: 3,
            },
        ];
        let docs: Vec<char> = rank(6, hits.clone(), 3)
            .into_iter()
            .map(|h| h.doc)
            .collect();
        assert_eq!(docs, ['c', 'e', 'a']);
        let docs: Vec<char> = rank(6, hits, 10).into_iter().map(|h| h.doc).collect();
        assert_eq!(docs, ['c', 'e', 'a', 'd'], "one shared term is not enough");
    }

    #[test]
    fn query_terms_are_capped() {
        let long: String = (0..200).map(|i| format!("w{i} ")).collect();
        assert_eq!(query_terms(&long).len(), MAX_QUERY_TERMS);
    }
}
