-- A leaner search index. search_terms held one row per (unit, term) with the kind and the
-- term as text, under two indexes, and every query counted postings to weigh its terms.
-- Now: each term once in search_vocab, with how many units of each kind have it (kept
-- up to date by whoever adds or removes units), and one integer posting per (term, kind,
-- unit) in a table that is its own primary key. Kinds: 0 answered question, 1 policy
-- title and issuer, 2 policy passage. The old rows are carried over as they are (same
-- terms, same tokenizer), so nothing is rebuilt on start.

CREATE TABLE search_vocab (
    id        INTEGER PRIMARY KEY,
    term      TEXT    NOT NULL UNIQUE,
    questions INTEGER NOT NULL DEFAULT 0,
    policies  INTEGER NOT NULL DEFAULT 0,
    passages  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE search_postings (
    term_id INTEGER NOT NULL,
    kind    INTEGER NOT NULL,
    unit_id INTEGER NOT NULL,
    PRIMARY KEY (term_id, kind, unit_id)
) WITHOUT ROWID;

INSERT INTO search_vocab (term, questions, policies, passages)
SELECT term,
       SUM(doc_kind = 'question'),
       SUM(doc_kind = 'policy'),
       SUM(doc_kind = 'policy_passage')
FROM search_terms
WHERE doc_kind IN ('question', 'policy', 'policy_passage')
GROUP BY term
ORDER BY term;

INSERT INTO search_postings (term_id, kind, unit_id)
SELECT v.id,
       CASE t.doc_kind WHEN 'question' THEN 0 WHEN 'policy' THEN 1 ELSE 2 END,
       t.doc_id
FROM search_terms t JOIN search_vocab v ON v.term = t.term
WHERE t.doc_kind IN ('question', 'policy', 'policy_passage')
ORDER BY 1, 2, 3;

DROP TABLE search_terms;
