//! Search latency over a generated history of 1,000,000 messages in 100,000 conversations, and the
//! time to open a 5,000-message conversation. Run with `scripts/bench.sh` (`cargo bench --bench
//! search`); it prints p50/p95/p99 per kind of query.
//!
//! A plain `Instant` loop, not criterion: what matters is the distribution over many different
//! queries against one large database, which takes a minute to build, not a statistically
//! polished figure for one query.
//!
//! Under `cargo test` (which runs benches once, without `--bench`) it builds a small history and
//! checks that the same searches return correct results, so the benchmark cannot rot. Every
//! search is also checked for correctness in the full run: each result must contain every
//! word, be newest first, and the number of hits for planted rare words must be exact.
//!
//! Sizes can be changed with NEXUS_BENCH_CONVERSATIONS and NEXUS_BENCH_PER_CONVERSATION.

use std::time::{Duration, Instant};

use opencode_nexus::engine::model::*;
use opencode_nexus::engine::store::Store;

/// Words a chat history is made of: common English, programming terms, a little of other
/// languages. Zipf-distributed when drawn, so some are everywhere and most are rare.
const VOCABULARY: &str = "the of and to a in is it you that he was for on are with as I his they be at one have this from or had by hot word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find any new work part take get place made live where after back little only round man year came show every good me give our under name very through just form sentence great think say help low line differ turn cause much mean before move right boy old too same tell does set three want air well also play small end put home read hand port large spell add even land here must big high such follow act why ask men change went light kind off need house picture try us again animal point mother world near build self earth father function variable compile error borrow lifetime struct trait async await thread mutex channel vector string slice iterator closure generic module crate cargo test benchmark database index query transaction sqlite schema migration backup restore export import json markdown render component signal effect route server client request response header token stream model prompt reply context window temperature python javascript typescript kotlin swift docker kubernetes deploy container network socket latency memory cache pointer reference allocation garbage collector regex parser lexer grammar compiler linker binary library framework recipe travel budget invoice meeting calendar email summary translate poem story character chapter essay history physics chemistry biology algebra calculus geometry probability statistics matrix tensor gradient neural training dataset evaluation accuracy precision recall café naïve résumé straße größe привет мир данные поиск おはよう 東京 数据 搜索 مرحبا שלום";

/// Words planted a known number of times, to check hit counts exactly.
const RARE: [(&str, usize); 4] = [
    ("zyxquartz", 3),
    ("plumbago", 17),
    ("quillwort", 120),
    ("saxifrage", 900),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, no dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Zipf-like: index i drawn with weight ~ 1/(i+1).
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as usize).min(n - 1)
    }
}

fn sentence(rng: &mut Rng, words: &[&str], len: usize) -> String {
    let mut s = String::with_capacity(len * 7);
    for i in 0..len {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(words[rng.zipf(words.len())]);
    }
    s
}

struct Sizes {
    conversations: usize,
    per_conversation: usize,
    long_thread: usize,
}

fn build(path: &std::path::Path, sizes: &Sizes, words: &[&str]) -> Store {
    let started = Instant::now();
    let store = Store::open(path).expect("open");
    let conn = store.connection();
    conn.execute_batch("BEGIN").expect("begin");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let total = sizes.conversations * sizes.per_conversation;
    // Positions of planted words, spread over the whole history.
    let mut planted: Vec<(usize, &str)> = Vec::new();
    for (word, count) in RARE {
        for k in 0..count {
            planted.push(((k * 7919 + word.len() * 104_729) % total, word));
        }
    }
    planted.sort();
    let mut next_plant = 0;
    {
        let mut conv = conn
            .prepare("INSERT INTO conversations (id, title, created_at, updated_at, params, head_id) VALUES (?1, ?2, ?3, ?3, '{}', ?4)")
            .expect("prepare");
        let mut msg = conn
            .prepare("INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'complete', ?7, ?7)")
            .expect("prepare");
        let mut n = 0usize;
        let base = 1_600_000_000_000i64;
        for c in 0..sizes.conversations + 1 {
            // One extra conversation: the long one that `thread` opens.
            let count = if c == sizes.conversations {
                sizes.long_thread
            } else {
                sizes.per_conversation
            };
            let cid = format!("c{c:07}");
            let head = format!("m{c:07}-{:05}", count - 1);
            let title = sentence(&mut rng, words, 4);
            conv.execute(rusqlite::params![
                cid,
                title,
                base + (n as i64) * 1000,
                head
            ])
            .expect("conversation");
            let mut parent: Option<String> = None;
            for j in 0..count {
                let id = format!("m{c:07}-{j:05}");
                let len = 8 + rng.below(if j % 2 == 0 { 20 } else { 90 });
                let mut text = sentence(&mut rng, words, len);
                if c < sizes.conversations {
                    while next_plant < planted.len() && planted[next_plant].0 == n {
                        text.push(' ');
                        text.push_str(planted[next_plant].1);
                        next_plant += 1;
                    }
                }
                let parts =
                    serde_json::to_string(&[Part::Text { text: text.clone() }]).expect("parts");
                let role = if j % 2 == 0 { "user" } else { "assistant" };
                msg.execute(rusqlite::params![
                    id,
                    cid,
                    parent,
                    role,
                    parts,
                    text,
                    base + (n as i64) * 1000
                ])
                .expect("message");
                parent = Some(id);
                n += 1;
            }
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
    conn.execute_batch("INSERT INTO messages_fts(messages_fts) VALUES ('optimize'); ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .ok();
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "built {} messages in {} conversations ({:.0} MB) in {:.1} s",
        total + sizes.long_thread,
        sizes.conversations + 1,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    store
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<28} n={:<4} p50 {:>7.2} ms   p95 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        times.len(),
        ms(percentile(times, 0.50)),
        ms(percentile(times, 0.95)),
        ms(percentile(times, 0.99)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
    );
}

/// Folded for comparison the way the index folds (case, the diacritics in our vocabulary).
fn fold(s: &str) -> String {
    s.to_lowercase()
        .replace('é', "e")
        .replace('ï', "i")
        .replace('ö', "o")
}

/// Every hit contains every word (the last as a prefix), hits are newest first, within limit.
fn check(store: &Store, query: &str, hits: &[SearchHit], limit: u32) {
    assert!(hits.len() <= limit as usize, "{query}: over the limit");
    let words: Vec<String> = query.split_whitespace().map(fold).collect();
    for w in hits.windows(2) {
        assert!(
            w[0].created_at >= w[1].created_at,
            "{query}: not newest first"
        );
    }
    for h in hits.iter().take(3) {
        let text = fold(&store.get_message(&h.message_id).expect("hit exists").text());
        let tokens: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .collect();
        for (i, w) in words.iter().enumerate() {
            let last = i + 1 == words.len();
            assert!(
                tokens.iter().any(|t| if last {
                    t.starts_with(w.as_str())
                } else {
                    t == w
                }),
                "{query}: hit {} lacks {w}",
                h.message_id
            );
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sizes = if full {
        Sizes {
            conversations: env("NEXUS_BENCH_CONVERSATIONS", 100_000),
            per_conversation: env("NEXUS_BENCH_PER_CONVERSATION", 10),
            long_thread: 5_000,
        }
    } else {
        Sizes {
            conversations: 1_000,
            per_conversation: 10,
            long_thread: 500,
        }
    };
    let words: Vec<&str> = VOCABULARY.split_whitespace().collect();
    let dir = tempfile::tempdir().expect("temp dir");
    // NEXUS_BENCH_DB keeps the generated history at that path and reuses it on the next run
    // (for comparing query changes without rebuilding it).
    let mut store = match std::env::var_os("NEXUS_BENCH_DB").map(std::path::PathBuf::from) {
        Some(path) if path.exists() => Store::open(&path).expect("open the kept history"),
        Some(path) => build(&path, &sizes, &words),
        None => build(&dir.path().join("history.db"), &sizes, &words),
    };
    let total = sizes.conversations * sizes.per_conversation;

    // Planted words: exact counts, whatever the limit.
    for (word, count) in RARE {
        let expected = (0..count)
            .map(|k| (k * 7919 + word.len() * 104_729) % total)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let hits = store.search(word, 1000).expect("search");
        assert_eq!(hits.len(), expected.min(1000), "hits for {word}");
        check(&store, word, &hits, 1000);
    }

    let mut rng = Rng(42);
    let common: Vec<String> = (0..60).map(|i| words[i % 40].to_string()).collect();
    let rare: Vec<String> = (0..50)
        .map(|_| words[words.len() - 1 - rng.below(words.len() / 2)].to_string())
        .chain(RARE.iter().map(|(w, _)| w.to_string()))
        .collect();
    let prefixes: Vec<String> = (0..50)
        .map(|_| {
            let w = words[rng.below(words.len())];
            let keep = w.chars().count().clamp(2, 4);
            w.chars().take(keep).collect()
        })
        .collect();
    let multi: Vec<String> = (0..50)
        .map(|_| {
            let n = 2 + rng.below(2);
            (0..n)
                .map(|_| words[rng.zipf(words.len() / 2)])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();

    let limit = 50;
    let mut all = Vec::new();
    for (label, queries) in [
        ("common word", &common),
        ("rare word", &rare),
        ("prefix (2-4 letters)", &prefixes),
        ("two or three words", &multi),
    ] {
        let mut times = Vec::new();
        for q in queries {
            let started = Instant::now();
            let hits = store.search(q, limit).expect("search");
            times.push(started.elapsed());
            check(&store, q, &hits, limit);
        }
        all.extend_from_slice(&times);
        report(label, &mut times);
    }
    report("all searches", &mut all);

    let long = format!("c{:07}", sizes.conversations);
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let thread = store.thread(&long).expect("thread");
        times.push(started.elapsed());
        assert_eq!(thread.len(), sizes.long_thread);
    }
    report(
        &format!("open {}-message thread", sizes.long_thread),
        &mut times,
    );
    backups(&mut store, dir.path(), &words, total);
    if !full {
        println!("(small smoke run; `cargo bench --bench search` runs the full size)");
    }
}

/// The daily backup on this history: the first incremental backup (every page once), then a
/// day of chatting (200 messages in 20 new conversations, a rename and a pin) and the next
/// backup, whose written bytes are compared with the database's size; that backup restored
/// gives back every message.
fn backups(store: &mut Store, dir: &std::path::Path, words: &[&str], total: usize) {
    use opencode_nexus::engine::portability::{self, incremental};
    let backups = dir.join("backups");
    let size = store.size_bytes().expect("size") as u64;
    let started = Instant::now();
    let (first, _) = portability::incremental_backup(&*store, &backups, 7, None)
        .expect("first backup")
        .expect("a backup");
    let first_took = started.elapsed();
    let stored = incremental::page_store_bytes(&backups)
        + std::fs::metadata(&first).expect("manifest").len();

    let mut rng = Rng(7);
    for i in 0..20 {
        let c = Conversation::new(format!("today {i}"));
        store.create_conversation(&c).expect("conversation");
        let mut parent: Option<String> = None;
        for j in 0..10 {
            let role = if j % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let m = Message::new(&c.id, parent.clone(), role, &sentence(&mut rng, words, 120));
            store.save_message(&m, true).expect("message");
            parent = Some(m.id);
        }
    }
    store
        .connection()
        .execute_batch(
            "UPDATE conversations SET title = 'renamed today', pinned = 1 WHERE id = 'c0000001'",
        )
        .expect("a day of chatting");

    let started = Instant::now();
    let (second, header) = portability::incremental_backup(&*store, &backups, 7, None)
        .expect("second backup")
        .expect("a backup");
    let second_took = started.elapsed();
    let header = header.expect("incremental");
    let written = header.new_bytes + std::fs::metadata(&second).expect("manifest").len();
    let size_after = store.size_bytes().expect("size") as u64;
    println!(
        "daily backup: database {:.1} MB; first backup {:.1} MB stored in {:.1} s; after a day of chatting {} new pages, {:.2} MB written = {:.2} % of the database, in {:.1} s",
        size as f64 / 1e6,
        stored as f64 / 1e6,
        first_took.as_secs_f64(),
        header.new_pages,
        written as f64 / 1e6,
        written as f64 * 100.0 / size_after as f64,
        second_took.as_secs_f64()
    );
    let count = |s: &Store| -> i64 {
        s.connection()
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .expect("count")
    };
    let expected = count(store);
    assert!(expected as usize >= total + 200);
    let restored = dir.join("restored.db");
    portability::restore(&restored, &second).expect("restore");
    let back = Store::open(&restored).expect("open the restored history");
    assert_eq!(count(&back), expected, "the restored history is complete");
}
