//! The policy library in storage: the relevance set ranks well on both engines, only admins
//! add and remove, and a document is stored whole or not at all.

mod common;

use common::{now, with_roster};
use storage::{Failure, NewPolicy, Scope, Store};

on_both_engines!(
    the_relevance_set_finds_what_cadres_mean,
    only_admins_add_and_remove_documents,
    newest_documents_come_first_and_removal_is_complete,
    snippets_point_at_the_matching_passage,
    removing_a_document_keeps_the_terms_it_shares,
);

async fn admin(store: &Store) -> i64 {
    with_roster(store).await;
    store
        .person_by_phone("13800000004")
        .await
        .unwrap()
        .unwrap()
        .id
}

fn doc<'a>(title: &'a str, text: &'a str, by: i64) -> NewPolicy<'a> {
    NewPolicy {
        title,
        issuer: Some("贵州省民政厅"),
        issued_on: None,
        file_id: "file-1",
        file_name: Some("a.txt"),
        format: "txt",
        text,
        no_text: false,
        added_by: by,
    }
}

async fn the_relevance_set_finds_what_cadres_mean(store: Store) {
    let admin = admin(&store).await;
    let set = storage::relevance::load();
    assert!(set.docs.len() >= 60 && set.queries.len() >= 40);
    let ids = set.add_all(&store, admin, now()).await.unwrap();
    let f = set.evaluate(&store, &ids).await.unwrap();
    for (q, want, got) in &f.misses {
        println!("miss: {q}: want {want:?}, got {got:?}");
    }
    println!("recall@3 {:.3}, MRR {:.3}", f.recall_at_3, f.mrr);
    assert!(f.recall_at_3 >= 0.9, "recall@3 {:.3}", f.recall_at_3);
    assert!(f.mrr >= 0.8, "MRR {:.3}", f.mrr);
    // 医保 never brings up the subsistence allowance.
    let got = store.find_policies("医保", 5).await.unwrap();
    assert!(
        got.iter().all(|h| !h.policy.title.contains("最低生活保障")),
        "{got:?}"
    );
}

async fn only_admins_add_and_remove_documents(store: Store) {
    let admin = admin(&store).await;
    let cadre = store
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap()
        .id;
    let refused = store
        .add_policy(doc("低保工作规程", "申请低保以家庭为单位。", cadre), now())
        .await;
    assert!(matches!(
        refused,
        Err(Failure::Refused(domain::policy::PolicyRefusal::NotAdmin))
    ));
    assert_eq!(store.policy_count().await.unwrap(), 0);
    assert_eq!(
        store.search_index_size().await.unwrap().0,
        0,
        "no term rows left"
    );
    let p = store
        .add_policy(doc("低保工作规程", "申请低保以家庭为单位。", admin), now())
        .await
        .unwrap();
    assert_eq!(p.chars, "申请低保以家庭为单位。".chars().count() as i64);
    assert!(matches!(
        store.remove_policy(cadre, p.id).await,
        Err(Failure::Refused(domain::policy::PolicyRefusal::NotAdmin))
    ));
    assert!(store.policy(p.id).await.unwrap().is_some());
    assert!(matches!(
        store.remove_policy(admin, p.id + 100).await,
        Err(Failure::Refused(domain::policy::PolicyRefusal::NotFound(_)))
    ));
}

async fn newest_documents_come_first_and_removal_is_complete(store: Store) {
    let admin = admin(&store).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let title = format!("第{i}号文件 农村危房改造");
        let p = store
            .add_policy(
                doc(&title, &"危房改造补助资金实行专款专用。".repeat(30), admin),
                now(),
            )
            .await
            .unwrap();
        ids.push(p.id);
    }
    let newest = store.newest_policies(10).await.unwrap();
    assert_eq!(newest.len(), 10);
    assert_eq!(newest[0].id, ids[11]);
    assert_eq!(store.find_policies("危改", 5).await.unwrap().len(), 5);
    let rows_before = store.search_index_size().await.unwrap().0;
    for id in &ids {
        store.remove_policy(admin, *id).await.unwrap();
    }
    assert!(rows_before > 0);
    assert_eq!(store.search_index_size().await.unwrap().0, 0);
    assert!(store.find_policies("危改", 5).await.unwrap().is_empty());
    assert!(
        store
            .search(Scope::Policies, "危房", 5)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn snippets_point_at_the_matching_passage(store: Store) {
    let admin = admin(&store).await;
    let body = format!(
        "{}第九十条 申请临时救助应当向户籍所在地乡镇人民政府提出。{}",
        "第一条 本办法适用于全省城乡困难群众的基本生活保障工作。".repeat(20),
        "第二条 各地应当加强资金监管，确保资金安全。".repeat(20)
    );
    store
        .add_policy(doc("贵州省社会救助实施办法", &body, admin), now())
        .await
        .unwrap();
    let got = store.find_policies("临时救助", 5).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].snippet.contains("申请临时救助"),
        "{}",
        got[0].snippet
    );
    assert!(got[0].snippet.chars().count() <= storage::SNIPPET_CHARS + 2);
    // The title alone matches too, and its snippet is the title.
    let got = store.find_policies("社会救助实施办法", 5).await.unwrap();
    assert_eq!(got.len(), 1);
}

async fn removing_a_document_keeps_the_terms_it_shares(store: Store) {
    let admin = admin(&store).await;
    let kept = store
        .add_policy(
            doc(
                "农村危房改造补助办法",
                &"危房改造补助资金实行专款专用。".repeat(20),
                admin,
            ),
            now(),
        )
        .await
        .unwrap();
    let alone = store.search_index_size().await.unwrap().0;
    let gone = store
        .add_policy(
            doc(
                "危房改造验收规程",
                &"危房改造竣工后由乡镇组织验收。".repeat(20),
                admin,
            ),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(store.find_policies("危改 补助", 5).await.unwrap().len(), 1);
    store.remove_policy(admin, gone.id).await.unwrap();
    assert_eq!(store.search_index_size().await.unwrap().0, alone);
    // The shared terms still find the other document, weighed as if the removed one had
    // never been there.
    let got = store.find_policies("危房改造", 5).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].policy.id, kept.id);
    assert!(store.find_policies("竣工验收", 5).await.unwrap().is_empty());
    // Adding it again indexes it again (no posting of the removed one is left to clash).
    store
        .add_policy(
            doc(
                "危房改造验收规程",
                &"危房改造竣工后由乡镇组织验收。".repeat(20),
                admin,
            ),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(store.find_policies("竣工验收", 5).await.unwrap().len(), 1);
}
