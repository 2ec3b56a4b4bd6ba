//! The `github-standin` binary: one JSON line when listening, then driven over `/_standin/`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{agent, read};

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_prints_its_urls_and_obeys_the_admin_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_github-standin"))
        .arg("--root")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let urls: Value = serde_json::from_str(&line).unwrap();
    let url = urls["url"].as_str().unwrap().to_owned();
    assert_eq!(urls["api_url"], format!("{url}/api/v3"));

    let admin = |method: &str, path: &str, body: Option<&str>| {
        let target = format!("{url}/_standin{path}");
        let response = match (method, body) {
            ("GET", _) => agent().get(target).call(),
            ("DELETE", _) => agent().delete(target).call(),
            (_, body) => agent()
                .post(target)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or("{}")),
        };
        read(response.unwrap())
    };
    let token = json!({"token": "t-bin", "login": "dave", "scopes": ["repo"]}).to_string();
    assert_eq!(admin("POST", "/tokens", Some(&token)).status, 200);
    let repo = admin("POST", "/repos", Some(r#"{"owner":"dave","name":"site"}"#));
    assert_eq!(repo.status, 200, "{}", repo.body);
    assert_eq!(repo.json()["clone_url"], format!("{url}/dave/site.git"));
    assert!(
        std::path::Path::new(repo.json()["path"].as_str().unwrap())
            .join("HEAD")
            .exists()
    );
    assert_eq!(
        admin("POST", "/repos", Some(r#"{"owner":"..","name":"x"}"#)).status,
        400
    );
    assert_eq!(admin("POST", "/tokens", Some("{not json")).status, 400);
    assert_eq!(
        admin(
            "POST",
            "/pull",
            Some(r#"{"owner":"dave","repo":"site","number":4,"state":"closed"}"#)
        )
        .status,
        404
    );

    let user = |token: &str| {
        read(
            agent()
                .get(format!("{url}/api/v3/user"))
                .header("User-Agent", "grove-tests")
                .header("Authorization", format!("token {token}"))
                .call()
                .unwrap(),
        )
    };
    assert_eq!(user("t-bin").json()["login"], "dave");
    assert_eq!(admin("DELETE", "/tokens/t-bin", None).status, 200);
    assert_eq!(user("t-bin").status, 401);

    let config =
        json!({"device_interval": 3, "client_id": "cid", "client_secret": "sec"}).to_string();
    assert_eq!(admin("POST", "/config", Some(&config)).status, 200);
    let code = read(
        agent()
            .post(format!("{url}/login/device/code"))
            .header("Accept", "application/json")
            .send_form([("client_id", "cid"), ("scope", "repo")])
            .unwrap(),
    );
    assert_eq!(code.json()["interval"], 3);
    let pending = admin("GET", "/device/pending", None).json();
    assert_eq!(pending[0], code.json()["user_code"]);
    let approve = json!({"user_code": pending[0], "login": "dave", "scopes": ["repo"]}).to_string();
    assert_eq!(admin("POST", "/device/approve", Some(&approve)).status, 200);

    let requests = admin("GET", "/requests", None).json();
    let paths: Vec<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/api/v3/user", "/api/v3/user", "/login/device/code"]
    );
    assert_eq!(requests[1]["status"], 401);
    assert_eq!(requests[0]["authorization"], true);
    drop(child);
}
