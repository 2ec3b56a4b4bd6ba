//! `grove serve --tls-self-signed`: a self-signed certificate made once (rcgen, ECDSA P-256) and
//! kept in `<data dir>/tls/`, so its fingerprint stays the same across restarts and remotes that
//! pinned it keep connecting. It is made again only when it no longer covers the names the
//! server is reached by (said on stderr: the fingerprint changes).

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::{ServeError, TlsFiles};
use crate::remote::tls::Fingerprint;

/// Names every self-signed certificate covers.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The certificate and key in `<data_dir>/tls/` covering localhost, 127.0.0.1, ::1 and `hosts`
/// (host names or IP addresses; IPv6 in brackets or not), made when missing or when they no
/// longer cover every name. Returns the files and the certificate's fingerprint.
pub fn ensure(data_dir: &Path, hosts: &[String]) -> Result<(TlsFiles, Fingerprint), ServeError> {
    let dir = data_dir.join("tls");
    let files = TlsFiles {
        cert: dir.join("self-signed.crt"),
        key: dir.join("self-signed.key"),
    };
    let mut names: Vec<String> = LOOPBACK.iter().map(|s| (*s).to_owned()).collect();
    for h in hosts {
        let h = h.trim().trim_start_matches('[').trim_end_matches(']');
        if ServerName::try_from(h).is_err() {
            return Err(ServeError::Tls(format!(
                "`{h}` is not a host name or IP address a certificate can name"
            )));
        }
        if !h.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(h)) {
            names.push(h.to_owned());
        }
    }
    if files.cert.exists() && files.key.exists() {
        match read_cert(&files.cert) {
            Ok(der) => {
                let missing = uncovered(&der, &names);
                if missing.is_empty() {
                    return Ok((files, Fingerprint::of(&der)));
                }
                eprintln!(
                    "Grove: the self-signed TLS certificate {} does not cover {}; making a new one. Its fingerprint changes: remotes that pinned the old one must be removed and added again.",
                    files.cert.display(),
                    missing.join(", ")
                );
            }
            Err(why) => eprintln!(
                "Grove: could not use the self-signed TLS certificate {} ({why}); making a new one. Its fingerprint changes: remotes that pinned the old one must be removed and added again.",
                files.cert.display()
            ),
        }
    }
    let der = generate(&files, &names)?;
    Ok((files, Fingerprint::of(&der)))
}

fn read_cert(path: &Path) -> Result<CertificateDer<'static>, String> {
    let pem = fs_err::read(path).map_err(|e| e.to_string())?;
    CertificateDer::from_pem_slice(&pem).map_err(|e| format!("not a PEM certificate: {e:?}"))
}

/// The names in `names` the certificate does not cover, as a TLS client would check them.
fn uncovered(der: &CertificateDer<'_>, names: &[String]) -> Vec<String> {
    let Ok(parsed) = rustls::server::ParsedCertificate::try_from(der) else {
        return names.to_vec();
    };
    names
        .iter()
        .filter(|n| {
            ServerName::try_from(n.as_str()).map_or(true, |sn| {
                rustls::client::verify_server_name(&parsed, &sn).is_err()
            })
        })
        .cloned()
        .collect()
}

fn generate(files: &TlsFiles, names: &[String]) -> Result<CertificateDer<'static>, ServeError> {
    let fail = |e: rcgen::Error| ServeError::Tls(format!("could not make a certificate: {e}"));
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(fail)?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "Grove self-signed");
    params.distinguished_name = dn;
    let cert = params.self_signed(&key).map_err(fail)?;
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |e: std::io::Error| ServeError::Tls(format!("could not write {}: {e}", path.display()))
    };
    if let Some(dir) = files.cert.parent() {
        crate::data_dir::create_private_dir_all(dir).map_err(write_err(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(write_err(dir))?;
        }
    }
    // The key first: a certificate is never left without its key.
    crate::data_dir::write_private(&files.key, key.serialize_pem().as_bytes())
        .map_err(write_err(&files.key))?;
    crate::data_dir::write_private(&files.cert, cert.pem().as_bytes())
        .map_err(write_err(&files.cert))?;
    Ok(cert.der().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_kept_and_made_again_for_a_new_name() {
        let tmp = tempfile::tempdir().unwrap();
        let (files, first) = ensure(tmp.path(), &[]).unwrap();
        let der = read_cert(&files.cert).unwrap();
        assert_eq!(Fingerprint::of(&der), first);
        assert!(
            uncovered(
                &der,
                &["localhost".into(), "127.0.0.1".into(), "::1".into()]
            )
            .is_empty()
        );
        assert_eq!(
            uncovered(&der, &["devbox".into()]),
            vec!["devbox".to_owned()]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&files.key), 0o600);
            assert_eq!(mode(files.key.parent().unwrap()), 0o700);
        }
        // Kept: same fingerprint, also when asked for names it covers.
        assert_eq!(ensure(tmp.path(), &[]).unwrap().1, first);
        assert_eq!(
            ensure(tmp.path(), &["[::1]".into(), "LOCALHOST".into()])
                .unwrap()
                .1,
            first
        );
        // A new name: a new certificate covering it, kept from then on.
        let (_, second) =
            ensure(tmp.path(), &["devbox.example".into(), "10.1.2.3".into()]).unwrap();
        assert_ne!(second, first);
        let der = read_cert(&files.cert).unwrap();
        assert!(
            uncovered(
                &der,
                &[
                    "devbox.example".into(),
                    "10.1.2.3".into(),
                    "localhost".into()
                ]
            )
            .is_empty()
        );
        assert_eq!(
            ensure(tmp.path(), &["devbox.example".into()]).unwrap().1,
            second
        );
        // A damaged file is replaced.
        fs_err::write(&files.cert, "garbage").unwrap();
        let (_, third) = ensure(tmp.path(), &[]).unwrap();
        assert_ne!(third, second);
    }

    #[test]
    fn refuses_a_name_no_certificate_can_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let err = ensure(tmp.path(), &["not a host".into()]).unwrap_err();
        assert!(err.to_string().contains("not a host"), "{err}");
    }
}
