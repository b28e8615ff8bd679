use rstest::rstest;

use super::Files;
use crate::dsl::lint_file;
use crate::dsl::source::SourceFile;
use crate::dsl::yaml::{NodeValue, parse_documents};

/// A Job manifest as first written, with a comma missing in its flow sequence.
pub(super) const JOB_MISSING_COMMA: &str = "\
apiVersion: batch/v1
kind: Job
metadata:
  name: job-hello-world
spec:
  template:
    spec: 
      restartPolicy: Never
      containers:
      - image: busybox
        args: ['sh', '-c' 'echo hello, world && exit 0']
        name: job-hello-world
";

/// The DaemonSet of the same document: a key indented under a flow sequence line, with
/// Korean comments before the error on the same and earlier lines.
pub(super) const DAEMONSET_INDENTED_KEY: &str = "\
apiVersion: appgs/v1
kind: DaemonSet                             # [1]
metadata:
  name: daemonset-example
spec:
  selector:
    matchLabels:
      name: my-daemonset-example            # [2.1] 포드를 생성하기 위한 셀렉터 설정
  template:
    metadata:                               # [2.2] 포드 라벨 설정
      labels:
        name: my-daemonset-example
  spec:
    tolerations:                            # [3] 마스터 노드에도 포드를 생성
    - key: node-role.kubernetes.io/master
      effect: NoSchedule
    conatiners:
    - name: daemonset-example
      image: busybox                        # 테스트를 위해 busybox 이미지 사용
      args: ['tail', '-f', '/dev/null']
        resources:                          # [4] 자원 할당량을 제한
          limits:
            cpu: 100m
            memory: 200Mi
";

fn problems_of(name: &str, text: &str) -> Vec<(usize, usize, String, Option<String>)> {
    let files = Files::new(&[(name, text)]);
    lint_file(&files.path(name), &Default::default())
        .iter()
        .map(|problem| {
            let at = problem.location().unwrap();
            (
                at.line,
                at.column,
                problem.message().to_owned(),
                problem.help_text().map(str::to_owned),
            )
        })
        .collect()
}

#[rstest]
#[case::missing_comma(
    JOB_MISSING_COMMA,
    11,
    27,
    "invalid YAML: did not find expected ',' or ']'",
    "items of a flow sequence are separated by commas"
)]
#[case::key_under_flow_sequence(
    DAEMONSET_INDENTED_KEY,
    21,
    9,
    "invalid YAML: did not find expected key",
    "`resources:` is indented deeper than `args:` on line 20"
)]
#[case::flow_mapping(
    "a: {b: 1 c: 2}\n",
    1,
    11,
    "invalid YAML: did not find expected ',' or '}'",
    "entries of a flow mapping are separated by commas"
)]
#[case::tab(
    "a:\n\tb: 1\n",
    2,
    1,
    "invalid YAML: found character that cannot start any token",
    "YAML indentation must use spaces"
)]
#[case::value_under_scalar(
    "a: b\n  c: d\n",
    2,
    4,
    "invalid YAML: mapping values are not allowed in this context",
    "`c:` is indented deeper than `a:` on line 1"
)]
fn syntax_errors(
    #[case] text: &str,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
    #[case] hint: &str,
) {
    let found = problems_of("m.yaml", text);
    let (found_line, found_column, found_message, help) = &found[0];
    assert_eq!(
        (*found_line, *found_column, found_message.as_str()),
        (line, column, message)
    );
    assert!(
        help.as_deref().unwrap_or_default().starts_with(hint),
        "{help:?}"
    );
}

#[test]
fn error_stops_only_its_document() {
    let text = format!(
        "{JOB_MISSING_COMMA}---\napiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: cronJob-example\n"
    );
    let found = problems_of("m.yaml", &text);
    let lines: Vec<(usize, &str)> = found
        .iter()
        .map(|(line, _, message, _)| (*line, message.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (11, "invalid YAML: did not find expected ',' or ']'"),
            (
                14,
                "CronJob in batch/v1beta1 was removed in Kubernetes 1.25"
            ),
        ]
    );
}

#[test]
fn documents_split_on_markers() {
    let text = "# leading comment\n---\na: 1\n---\n---\nb: 2\n...\n%YAML 1.2\n--- {c: 3}\n";
    let source = SourceFile::new(std::path::Path::new("m.yaml"), text);
    let (documents, problems) = parse_documents(&source);
    assert!(problems.is_empty(), "{problems:?}");
    let summary: Vec<(usize, Option<usize>)> = documents
        .iter()
        .map(|document| {
            (
                document.index,
                document.root.as_ref().map(|root| root.location.line),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(1, Some(3)), (2, None), (3, Some(6)), (4, Some(9))]
    );
    let flow = documents[3].root.as_ref().unwrap();
    assert_eq!(flow.location.column, 5);
}

#[test]
fn columns_count_characters_after_korean_text() {
    let text = "a: 한국어 # 주석\nb: {c: 1, d: [x, y]}\nk: 포드\ne: ok\n";
    let source = SourceFile::new(std::path::Path::new("m.yaml"), text);
    let (documents, _) = parse_documents(&source);
    let root = documents[0].root.as_ref().unwrap();
    let e = root.entry("e").unwrap();
    assert_eq!((e.0.location.line, e.0.location.column), (4, 1));
    let a = root.get("a").unwrap();
    assert_eq!((a.location.column, a.length), (4, "한국어".len()));
    let k = root.get("k").unwrap();
    assert_eq!(
        &text[k.location.offset..k.location.offset + k.length],
        "포드"
    );
}

#[test]
fn duplicate_keys_are_reported() {
    let found = problems_of("s.yaml", "name: x\nsteps: []\nname: y\n");
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (3, 1, "duplicate key `name`")
    );
}

#[test]
fn merge_keys_and_anchors_resolve() {
    let text = "base: &base {a: 1, b: 2}\nmerged:\n  <<: *base\n  b: 3\n";
    let source = SourceFile::new(std::path::Path::new("m.yaml"), text);
    let (documents, problems) = parse_documents(&source);
    assert!(problems.is_empty(), "{problems:?}");
    let merged = documents[0].root.as_ref().unwrap().get("merged").unwrap();
    let NodeValue::Mapping(entries) = &merged.value else {
        panic!()
    };
    let pairs: Vec<(&str, &str)> = entries
        .iter()
        .map(|(key, value)| {
            (
                key.scalar().unwrap().text.as_str(),
                value.scalar().unwrap().text.as_str(),
            )
        })
        .collect();
    assert_eq!(pairs, [("b", "3"), ("a", "1")]);
}

#[test]
fn scenario_with_two_documents_is_rejected() {
    let found = problems_of("s.yaml", "name: x\nsteps: []\n---\nname: y\n");
    assert_eq!(
        (found[0].0, found[0].2.as_str()),
        (4, "a scenario file holds one YAML document")
    );
}

#[rstest]
#[case::after_korean_value("name: 포드: x\n", 1, 9)]
#[case::crlf_line_endings("a: 1\r\nb: [1, 2\r\nc: 3\r\n", 3, 2)]
fn syntax_error_columns_count_characters(
    #[case] text: &str,
    #[case] line: usize,
    #[case] column: usize,
) {
    let found = problems_of("m.yaml", text);
    assert_eq!((found[0].0, found[0].1), (line, column), "{found:?}");
}
