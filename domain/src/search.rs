//! Keyword search that works for Chinese, which has no spaces between words, on any SQL
//! engine and without database extensions. One index serves answered questions and policy
//! documents, so `/ask`'s similar answers and `/policy` rank with the same rules.
//!
//! A text becomes a set of *terms*: overlapping pairs of Chinese characters (bigrams, so
//! 梨锈病 gives 梨锈 and 锈病) and lowercase ASCII words or numbers. Question words and
//! particles (怎么, 什么, 哪些, 吗…) split the text instead of producing terms, so two
//! questions do not look alike just because both ask "how". Official terms and the
//! abbreviations cadres use for them are one *concept* ([`CONCEPTS`]): a text with any of its
//! forms is indexed under the concept, and a query's form is replaced by it, so 低保 finds
//! 最低生活保障 and the other way round while 医保 (医疗保障) shares nothing with 低保.
//!
//! Ranking ([`Scorer`]): each query term weighs its rarity (inverse document frequency), so
//! a rare term outweighs a common one; a unit (a title, a passage of a body, a question)
//! covers the share of the query's weight whose terms it has. A bigram also counts when the
//! unit has its two characters one apart (梨锈 in 梨树锈病), checked on the unit's text. A
//! character pair no unit has at all is a word-boundary artefact and weighs nothing. A policy
//! document scores by its title and its best passage, the title weighing more.

/// Multi-character question words and fillers: separators, never terms.
const STOP_WORDS: [&str; 36] = [
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
    "文件",
    "政策",
    "规定",
];

/// Single-character particles and conjunctions: separators too.
const STOP_CHARS: [char; 13] = [
    '吗', '呢', '吧', '啊', '呀', '的', '了', '和', '与', '及', '或', '《', '》',
];

/// Concepts: the term a concept is indexed under, and its written forms (longest first
/// within a concept is not needed: all forms are tried, the longest match wins). The term
/// of the older abbreviations (低保, 医保, 社保, 新农合) is the abbreviation itself, as the
/// index has always had it.
pub const CONCEPTS: &[(&str, &[&str])] = &[
    ("低保", &["最低生活保障", "低保"]),
    ("医保", &["基本医疗保险", "医疗保险", "医疗保障", "医保"]),
    ("社保", &["社会保险", "社保"]),
    ("新农合", &["新型农村合作医疗", "农村合作医疗", "新农合"]),
    ("危改", &["危房改造", "危改"]),
    ("小额信贷", &["小额信贷", "小额贷款", "小贷"]),
    (
        "土地承包",
        &["土地承包经营", "土地承包", "承包地", "承包经营"],
    ),
    ("确权", &["土地确权", "确权登记", "确权颁证", "确权"]),
    (
        "五保",
        &["特困人员救助供养", "特困供养", "特困人员", "五保"],
    ),
    (
        "新农保",
        &[
            "新型农村社会养老保险",
            "城乡居民基本养老保险",
            "城乡居民养老保险",
            "新农保",
        ],
    ),
    ("退耕", &["退耕还林", "退耕还草", "退耕"]),
    ("易地搬迁", &["易地扶贫搬迁", "易地搬迁"]),
    (
        "地力补贴",
        &["耕地地力保护补贴", "地力保护补贴", "地力补贴"],
    ),
    ("家庭医生", &["家庭医生签约", "家庭医生", "家签"]),
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

/// The concept whose form starts at `chars[i..]`, longest form first: (term, form length).
fn concept_at(chars: &[char]) -> Option<(&'static str, usize)> {
    let mut best: Option<(&'static str, usize)> = None;
    for (term, forms) in CONCEPTS {
        for form in *forms {
            let n = form.chars().count();
            if n <= chars.len()
                && form.chars().zip(chars).all(|(a, b)| a == *b)
                && best.is_none_or(|(_, m)| n > m)
            {
                best = Some((term, n));
            }
        }
    }
    best
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

/// Tokenizes; `query` replaces a concept's form by the concept (a document keeps the form's
/// bigrams as well, so a query that spells the words out differently still finds it).
fn tokenize(text: &str, query: bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut concepts: Vec<String> = Vec::new();
    let mut singles: Vec<String> = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            if let Some((term, len)) = concept_at(&chars[i..]) {
                push_unique(&mut concepts, term.to_string());
                if query {
                    flush_run(&mut run, &mut out, &mut singles);
                    i += len;
                    continue;
                }
            }
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
    for c in concepts {
        push_unique(&mut out, c);
    }
    // A lone character is a term only when the text has nothing better (a one-word query).
    if out.is_empty() {
        for s in singles {
            push_unique(&mut out, s);
        }
    }
    out
}

/// The index terms of a text, in order of first appearance, without duplicates.
pub fn terms(text: &str) -> Vec<String> {
    tokenize(text, false)
}

/// The terms of a query (concept forms replaced by the concept), capped at
/// [`MAX_QUERY_TERMS`].
pub fn query_terms(text: &str) -> Vec<String> {
    let mut t = tokenize(text, true);
    t.truncate(MAX_QUERY_TERMS);
    t
}

fn is_bigram(term: &str) -> bool {
    let mut c = term.chars();
    matches!((c.next(), c.next(), c.next()), (Some(a), Some(b), None) if is_cjk(a) && is_cjk(b))
        && !CONCEPTS.iter().any(|(t, _)| *t == term)
}

/// Whether `text` has `term` the way a unit can have it without its index row: a concept by
/// any of its forms, a bigram with one character between its two (梨锈 in 梨树锈病), an ASCII
/// word anywhere.
pub fn loosely_contains(text: &str, term: &str) -> bool {
    if let Some((_, forms)) = CONCEPTS.iter().find(|(t, _)| *t == term) {
        return forms.iter().any(|f| text.contains(f));
    }
    let t: Vec<char> = term.chars().collect();
    if t.len() == 2 && is_cjk(t[0]) && is_cjk(t[1]) {
        let chars: Vec<char> = text.chars().collect();
        return chars.windows(2).any(|w| w[0] == t[0] && w[1] == t[1])
            || chars
                .windows(3)
                .any(|w| w[0] == t[0] && is_cjk(w[1]) && w[2] == t[1]);
    }
    text.to_lowercase().contains(term)
}

/// Which part of a document a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A policy's title (and issuer), or a question's text.
    Title,
    /// A passage of a policy's body.
    Body,
}

/// How much a body passage weighs against a title.
pub const BODY_WEIGHT: f64 = 0.8;
/// A unit is offered only if it covers at least this share of the query's weight.
pub const MIN_COVERAGE: f64 = 0.5;

/// The weights of one query's terms over an index of `units` units, from each term's
/// document frequency.
#[derive(Debug, Clone)]
pub struct Scorer {
    pub terms: Vec<String>,
    weights: Vec<f64>,
    total: f64,
}

impl Scorer {
    /// `df[i]`: how many units have `terms[i]`; `units`: how many units there are.
    pub fn new(terms: Vec<String>, df: &[u64], units: u64) -> Scorer {
        let n = units.max(1) as f64;
        let weights: Vec<f64> = terms
            .iter()
            .enumerate()
            .map(|(i, term)| match df.get(i).copied().unwrap_or(0) {
                // A pair of characters nobody has is most likely two words' edges; a
                // concept or a word nobody has is what the person asks for, rare as can be.
                0 if is_bigram(term) => 0.0,
                0 => (1.0 + n).ln(),
                d => (1.0 + n / d as f64).ln(),
            })
            .collect();
        let total = weights.iter().sum();
        Scorer {
            terms,
            weights,
            total,
        }
    }

    /// Whether any term is in the index at all (else nothing can match).
    pub fn is_empty(&self) -> bool {
        self.total <= 0.0
    }

    /// The term weights (0 for terms no unit has).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The share of the query's weight a unit covers (0 if it has fewer than two of the
    /// query's terms, or the one of a one-term query), given which terms its index rows
    /// have; `text` (the unit's own text) adds the terms it has loosely. Terms nobody has
    /// add a small tie-breaker when the text has them loosely (梨锈病 prefers 梨树锈病 over
    /// 苹果锈病).
    pub fn coverage(&self, indexed: &[bool], text: &str) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let mut got = 0.0;
        let mut bonus = 0.0;
        let mut matched = 0;
        for (i, term) in self.terms.iter().enumerate() {
            let has = indexed.get(i).copied().unwrap_or(false) || loosely_contains(text, term);
            if has {
                matched += 1;
                if self.weights[i] > 0.0 {
                    got += self.weights[i];
                } else {
                    bonus += 0.05;
                }
            }
        }
        // One everyday word in common is no likeness (村里 in two questions about roads and
        // street lamps): a query of several terms needs two of them.
        if matched < self.terms.len().min(2) {
            return 0.0;
        }
        got / self.total + bonus
    }
}

/// A document's score from its title's and its best passage's coverage: the better of the
/// two (a passage weighs [`BODY_WEIGHT`]), plus a fifth of the other, so a document whose
/// title and body both match beats one where only one does.
pub fn document_score(title: f64, body: f64) -> f64 {
    let t = title;
    let b = body * BODY_WEIGHT;
    t.max(b) + 0.2 * t.min(b)
}

/// Whether a document with these coverages is worth offering.
pub fn is_relevant(title: f64, body: f64) -> bool {
    title >= MIN_COVERAGE || body >= MIN_COVERAGE
}

/// Orders scored documents, best first; equal scores keep their given order (e.g. newest
/// first). Keeps at most `limit`.
pub fn rank<D>(mut scored: Vec<(D, f64)>, limit: usize) -> Vec<(D, f64)> {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(limit);
    scored
}

/// A passage of a body: where it starts (in characters) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub start: usize,
    pub text: String,
}

/// A passage aims at this many characters, ending at a sentence or paragraph end.
pub const PASSAGE_CHARS: usize = 300;
/// And never has more than this.
pub const PASSAGE_MAX_CHARS: usize = 450;

/// Splits a body into passages at sentence ends (。！？；\n) once a passage has
/// [`PASSAGE_CHARS`] characters, or hard at [`PASSAGE_MAX_CHARS`]. Blank passages are
/// dropped; together they cover the whole text.
pub fn passages(body: &str) -> Vec<Passage> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let len = i + 1 - start;
        let end_here = (len >= PASSAGE_CHARS
            && matches!(chars[i], '。' | '！' | '？' | '；' | '\n'))
            || len >= PASSAGE_MAX_CHARS;
        if end_here {
            push_passage(&mut out, &chars, start, i + 1);
            start = i + 1;
        }
        i += 1;
    }
    push_passage(&mut out, &chars, start, chars.len());
    out
}

fn push_passage(out: &mut Vec<Passage>, chars: &[char], start: usize, end: usize) {
    if start >= end {
        return;
    }
    let text: String = chars[start..end].iter().collect();
    if !text.trim().is_empty() {
        out.push(Passage { start, text });
    }
}

/// About `width` characters of `text` around the first place a query term occurs (a
/// concept by any form, a bigram also one apart), with `…` where it was cut; whitespace
/// runs become one space.
pub fn snippet(text: &str, terms: &[String], width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut first: Option<usize> = None;
    for term in terms {
        let forms: Vec<Vec<char>> = match CONCEPTS.iter().find(|(t, _)| *t == term) {
            Some((_, forms)) => forms.iter().map(|f| f.chars().collect()).collect(),
            None => vec![term.chars().collect()],
        };
        for f in forms {
            if f.is_empty() {
                continue;
            }
            let at = chars.windows(f.len()).position(|w| {
                w.iter()
                    .zip(&f)
                    .all(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
            });
            if let Some(at) = at {
                first = Some(first.map_or(at, |p: usize| p.min(at)));
            }
        }
    }
    let at = first.unwrap_or(0);
    let from = at.saturating_sub(width / 3);
    let to = (from + width).min(chars.len());
    let from = to.saturating_sub(width).min(from);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut space = false;
    for c in &chars[from..to] {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !out.ends_with('…') {
            out.push(' ');
        }
        space = false;
        out.push(*c);
    }
    if to < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn set(text: &str) -> HashSet<String> {
        terms(text).into_iter().collect()
    }

    /// Coverage of `doc` for `query`, every query term counted as present in some unit.
    fn cover(query: &str, doc: &str) -> f64 {
        let q = query_terms(query);
        let df = vec![1; q.len()];
        let indexed: Vec<bool> = q.iter().map(|t| set(doc).contains(t)).collect();
        Scorer::new(q, &df, 10).coverage(&indexed, doc)
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
        assert_eq!(
            query_terms("低保申请需要哪些材料"),
            ["申请", "材料", "低保"]
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
    fn official_terms_and_abbreviations_are_one_concept() {
        // (text, concept it is indexed under)
        let cases = [
            ("最低生活保障怎么申请", "低保"),
            ("新型农村合作医疗报销比例", "新农合"),
            ("新农合怎么交", "新农合"),
            ("城乡居民基本医疗保险", "医保"),
            ("医疗保障局", "医保"),
            ("农村危房改造补助", "危改"),
            ("危改", "危改"),
            ("扶贫小额信贷", "小额信贷"),
            ("农村土地承包经营权确权登记颁证", "土地承包"),
            ("农村土地承包经营权确权登记颁证", "确权"),
            ("土地确权", "确权"),
        ];
        for (text, concept) in cases {
            assert!(
                set(text).contains(concept),
                "{text} → {concept}: {:?}",
                terms(text)
            );
            assert!(
                query_terms(text).contains(&concept.to_string()),
                "query {text}"
            );
        }
        // A query names the concept instead of spelling out its form.
        assert_eq!(query_terms("最低生活保障"), ["低保"]);
        assert_eq!(query_terms("医疗保障"), ["医保"]);
        assert_eq!(query_terms("危房改造补助"), ["补助", "危改"]);
    }

    #[test]
    fn medical_insurance_never_matches_subsistence_allowance() {
        for doc in ["贵州省农村居民最低生活保障工作规程", "低保对象认定办法"]
        {
            assert!(cover("医保", doc) < MIN_COVERAGE, "{doc}");
            assert!(cover("医疗保障", doc) < MIN_COVERAGE, "{doc}");
        }
        assert!(cover("医保", "城乡居民基本医疗保险实施办法") >= 1.0);
        assert!(cover("低保", "贵州省农村居民最低生活保障工作规程") >= 1.0);
        assert!(cover("最低生活保障", "低保对象认定办法") >= 1.0);
    }

    #[test]
    fn a_short_form_of_a_longer_word_matches_one_apart() {
        assert!(loosely_contains("梨树锈病防治技术", "梨锈"));
        assert!(!loosely_contains("梨树的叶子生锈", "梨锈"));
        assert!(cover("梨锈病", "梨树锈病防治技术") >= 1.0);
        assert!(loosely_contains("农村最低生活保障", "低保"));
        assert!(!loosely_contains("农村医疗", "低保"));
    }

    #[test]
    fn rare_terms_outweigh_common_ones() {
        let q = query_terms("农村锈病防治");
        assert_eq!(q, ["农村", "村锈", "锈病", "病防", "防治"]);
        // Of 1000 units: 农村 in 900, 锈病 in 3, 防治 in 100, 村锈 and 病防 in none.
        let s = Scorer::new(q, &[900, 0, 3, 0, 100], 1000);
        let rare = s.coverage(&[false, false, true, false, true], "锈病 防治");
        let common = s.coverage(&[true, false, false, false, true], "农村 防治");
        assert!(rare > 0.8 && common < 0.5, "{rare} {common}");
        assert_eq!(s.weights()[1], 0.0, "a pair nobody has weighs nothing");
        assert!(Scorer::new(vec!["梨锈".into()], &[0], 5).is_empty());
        // A concept nobody has is still what was asked for.
        let s = Scorer::new(vec!["申请".into(), "医保".into()], &[2, 0], 3);
        assert!(s.coverage(&[true, false], "低保怎么申请") < MIN_COVERAGE);
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
            ("村里的路灯坏了", "村里道路硬化找哪个部门", false),
        ];
        for (query, doc, similar) in cases {
            // Realistic frequencies: only terms some document has count.
            let q = query_terms(query);
            let docs = [doc, "梨锈病用什么药防治", "最低生活保障怎么申请"];
            let df: Vec<u64> = q
                .iter()
                .map(|t| docs.iter().filter(|d| set(d).contains(t)).count() as u64)
                .collect();
            let indexed: Vec<bool> = q.iter().map(|t| set(doc).contains(t)).collect();
            let c = Scorer::new(q, &df, 3).coverage(&indexed, doc);
            assert_eq!(c >= MIN_COVERAGE, similar, "{query} vs {doc}: {c}");
        }
    }

    #[test]
    fn titles_weigh_more_than_bodies_and_both_more_than_one() {
        assert!(document_score(1.0, 0.0) > document_score(0.0, 1.0));
        assert!(document_score(1.0, 1.0) > document_score(1.0, 0.0));
        assert!(is_relevant(0.5, 0.0) && is_relevant(0.0, 0.6) && !is_relevant(0.4, 0.4));
        let ranked = rank(vec![('a', 0.5), ('b', 0.9), ('c', 0.5), ('d', 0.7)], 3);
        let docs: Vec<char> = ranked.into_iter().map(|(d, _)| d).collect();
        assert_eq!(docs, ['b', 'd', 'a'], "ties keep their order");
    }

    #[test]
    fn passages_cover_the_body_and_end_at_sentences() {
        let sentence = "第一条 为了规范农村最低生活保障工作，制定本规程。";
        let body: String = sentence.repeat(40);
        let ps = passages(&body);
        assert!(ps.len() > 1);
        let joined: String = ps.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, body);
        for p in &ps {
            let n = p.text.chars().count();
            assert!(n <= PASSAGE_MAX_CHARS, "{n}");
            assert!(p.text.ends_with('。'));
        }
        assert_eq!(ps[1].start, ps[0].text.chars().count());
        // No sentence end: cut hard.
        let ps = passages(&"字".repeat(1000));
        assert_eq!(ps.len(), 3);
        assert!(passages("  \n ").is_empty());
    }

    #[test]
    fn snippets_point_at_the_match() {
        let text = format!(
            "{}申请低保应当由共同生活的家庭成员提出{}",
            "前言".repeat(50),
            "后记".repeat(50)
        );
        let s = snippet(&text, &["低保".to_string()], 30);
        assert!(s.contains("申请低保"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(snippet("短文本", &["无关".to_string()], 30), "短文本");
        // A concept's long form counts as its occurrence.
        let s = snippet(
            &text.replace("低保", "最低生活保障"),
            &["低保".to_string()],
            30,
        );
        assert!(s.contains("最低生活保障"), "{s}");
        assert_eq!(snippet("一\n\n  二", &[], 10), "一 二");
    }

    #[test]
    fn query_terms_are_capped() {
        let long: String = (0..200).map(|i| format!("w{i} ")).collect();
        assert_eq!(query_terms(&long).len(), MAX_QUERY_TERMS);
    }
}
