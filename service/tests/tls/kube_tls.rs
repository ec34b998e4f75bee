//! The Kubernetes client over TLS with ring as the only provider: kube-client builds its
//! rustls settings from the process default, so this is where a missing or second provider
//! would show. The API server is a stand-in (none can run here) serving one PodList over a
//! real TLS handshake, reached through a kubeconfig's `certificate-authority`.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, web};
use faultline_agent::tls::ServerTls;
use faultline_test_support::certs::Authority;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A kube client for `server` trusting the CA file `ca`.
async fn client(server: &str, ca: &std::path::Path) -> kube::Client {
    let yaml = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    certificate-authority: {}\ncontexts:\n- name: test\n  context: {{cluster: test, user: test}}\nusers:\n- name: test\n  user: {{token: test-token}}\n",
        ca.display()
    );
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::from_yaml(&yaml).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_client_lists_pods_over_tls_and_refuses_a_wrong_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("cluster CA");
    let wrong = Authority::new("another CA");
    let (cert, key) = ca.issue("127.0.0.1").write(dir.path(), "apiserver");
    let tls = ServerTls {
        cert,
        key,
        client_ca: None,
    }
    .config()
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_url = format!("https://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new().route(
            "/api/v1/namespaces/default/pods",
            web::get().to(|| async {
                HttpResponse::Ok().json(serde_json::json!({
                    "kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []
                }))
            }),
        )
    })
    .workers(1)
    .listen_rustls_0_23(listener, tls)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);

    let pods: Api<Pod> = Api::namespaced(
        client(&server_url, &ca.write(dir.path(), "ca")).await,
        "default",
    );
    let list = pods.list(&ListParams::default()).await.unwrap();
    assert!(list.items.is_empty());

    let pods: Api<Pod> = Api::namespaced(
        client(&server_url, &wrong.write(dir.path(), "wrong")).await,
        "default",
    );
    let e = pods.list(&ListParams::default()).await.unwrap_err();
    let text = format!("{:#}", anyhow::Error::from(e));
    assert!(text.contains("UnknownIssuer"), "{text}");
    handle.stop(true).await;
}
