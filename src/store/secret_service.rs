//! The freedesktop Secret Service (gnome-keyring, KeePassXC…) on a chosen session bus.
//!
//! The bus is chosen per call, so a daemon started without one (from a cron job, an SSH
//! session) uses the bus of the caller that has one. Calls are bounded by a D-Bus method
//! timeout, and mfad never starts an unlock prompt nobody may see: a locked collection is
//! reported as locked. Entries are the ones keyring-rs wrote (attributes `service` and
//! `username`, label `keyring:USER@SERVICE`), so secrets stored by earlier versions stay.

use super::error::StoreError;
use secret_service::blocking::SecretService;
use secret_service::{EncryptionType, Error};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// The longest one D-Bus call to the Secret Service may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// One connection (and encrypted session) per bus, made on first use: opening them
/// costs a key exchange.
static CONNECTIONS: LazyLock<Mutex<HashMap<Option<String>, Arc<Connected>>>> =
    LazyLock::new(Mutex::default);

/// The Secret Service of one bus: the crate's client (secrets one at a time, in an
/// encrypted session) and the bare connection for calls it does not offer.
struct Connected {
    service: SecretService<'static>,
    connection: zbus::blocking::Connection,
    plain_session: OnceLock<OwnedObjectPath>,
}

impl Connected {
    /// A session for `GetSecrets`, opened on first use.
    fn plain_session(&self) -> Result<&OwnedObjectPath, StoreError> {
        if let Some(session) = self.plain_session.get() {
            return Ok(session);
        }
        let (_, session): (OwnedValue, OwnedObjectPath) = ask(
            &self.connection,
            SERVICE_PATH,
            SERVICE,
            "OpenSession",
            &("plain", Value::from("")),
        )?;
        Ok(self.plain_session.get_or_init(|| session))
    }
}

/// Run `call` on the Secret Service of a bus. A connection that fails for any reason but
/// a locked or refusing keyring is dropped, so the next call connects afresh (the
/// provider may have restarted).
fn with_service<T>(
    bus: Option<&str>,
    call: impl FnOnce(&Connected) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let key = bus.map(str::to_owned);
    let cached = CONNECTIONS.lock().unwrap().get(&key).cloned();
    let service = match cached {
        Some(service) => service,
        None => {
            let service = Arc::new(connect(bus)?);
            CONNECTIONS
                .lock()
                .unwrap()
                .insert(key.clone(), service.clone());
            service
        }
    };
    let result = call(&service);
    if let Err(StoreError::Unavailable(_) | StoreError::Other(_)) = &result {
        CONNECTIONS.lock().unwrap().remove(&key);
    }
    result
}

fn connect(bus: Option<&str>) -> Result<Connected, StoreError> {
    let where_ = bus.unwrap_or("the session bus");
    let unavailable =
        |e: zbus::Error| StoreError::Unavailable(format!("cannot connect to {where_} ({e})"));
    let builder = match bus {
        Some(address) => zbus::blocking::connection::Builder::address(address),
        None => zbus::blocking::connection::Builder::session(),
    }
    .map_err(unavailable)?;
    let connection = builder
        .method_timeout(CALL_TIMEOUT)
        .build()
        .map_err(unavailable)?;
    let service = SecretService::connect_with_existing(EncryptionType::Dh, connection.clone())
        .map_err(|e| match e {
            Error::Unavailable | Error::ZbusFdo(_) => StoreError::Unavailable(format!(
                "no Secret Service (org.freedesktop.secrets) on {where_}"
            )),
            other => failure(other),
        })?;
    Ok(Connected {
        service,
        connection,
        plain_session: OnceLock::new(),
    })
}

fn failure(error: Error) -> StoreError {
    match error {
        Error::Locked => StoreError::Locked("the collection holding mfad's entries".into()),
        Error::Prompt | Error::PromptDisconnected => {
            StoreError::Refused("the unlock prompt was dismissed".into())
        }
        Error::Unavailable => StoreError::Unavailable("no Secret Service".into()),
        other => StoreError::Other(other.to_string()),
    }
}

fn attributes<'a>(service: &'a str, user: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", user)])
}

pub fn read(bus: Option<&str>, service: &str, user: &str) -> Result<Option<Vec<u8>>, StoreError> {
    with_service(bus, |ss| {
        let found = ss
            .service
            .search_items(attributes(service, user))
            .map_err(failure)?;
        match (found.unlocked.first(), found.locked.is_empty()) {
            (Some(item), _) => item.get_secret().map(Some).map_err(failure),
            (None, false) => Err(StoreError::Locked(format!("the collection holding {user}"))),
            (None, true) => Ok(None),
        }
    })
}

pub fn write(
    bus: Option<&str>,
    service: &str,
    user: &str,
    secret: &[u8],
) -> Result<(), StoreError> {
    with_service(bus, |ss| write_on(&ss.service, service, user, secret))
}

fn write_on(
    ss: &SecretService<'static>,
    service: &str,
    user: &str,
    secret: &[u8],
) -> Result<(), StoreError> {
    let found = ss
        .search_items(attributes(service, user))
        .map_err(failure)?;
    if !found.locked.is_empty() {
        return Err(StoreError::Locked(format!("the collection holding {user}")));
    }
    if let Some(item) = found.unlocked.first() {
        return item.set_secret(secret, "text/plain").map_err(failure);
    }
    let collection = ss.get_default_collection().map_err(failure)?;
    if collection.is_locked().map_err(failure)? {
        return Err(StoreError::Locked("the default collection".into()));
    }
    collection
        .create_item(
            &format!("keyring:{user}@{service}"),
            attributes(service, user),
            secret,
            true,
            "text/plain",
        )
        .map(drop)
        .map_err(failure)
}

/// Every unlocked entry of a service: (user name, secret), in three round trips whatever
/// their number: the search, every item's attributes asked at once, and every secret in
/// one `GetSecrets`. (Item by item, a hundred saved sessions took 120 ms to load.)
///
/// `GetSecrets` runs in a "plain" session of its own: the secrets cross the user's own
/// session bus unencrypted, which only the user's processes can read, and they can ask the
/// unlocked collection for them anyway.
pub fn list(bus: Option<&str>, service: &str) -> Result<Vec<(String, String)>, StoreError> {
    with_service(bus, |ss| {
        let connection = &ss.connection;
        let (unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) = ask(
            connection,
            SERVICE_PATH,
            SERVICE,
            "SearchItems",
            &(attributes_of(service),),
        )?;
        if !locked.is_empty() {
            return Err(StoreError::Locked(format!(
                "the collection holding {service}'s entries"
            )));
        }
        let names = zbus::block_on(futures_util::future::join_all(
            unlocked
                .iter()
                .map(|item| user_name(connection.inner(), item)),
        ));
        let session = ss.plain_session()?;
        let mut secrets: HashMap<OwnedObjectPath, (OwnedObjectPath, Vec<u8>, Vec<u8>, String)> =
            ask(
                connection,
                SERVICE_PATH,
                SERVICE,
                "GetSecrets",
                &(&unlocked, session),
            )?;
        let mut entries = Vec::new();
        for (item, name) in unlocked.iter().zip(names) {
            let (Some(user), Some((_, _, secret, _))) = (name?, secrets.remove(item)) else {
                continue;
            };
            let value = String::from_utf8(secret).map_err(|_| StoreError::Malformed {
                entry: user.clone(),
            })?;
            entries.push((user, value));
        }
        Ok(entries)
    })
}

const SECRETS: &str = "org.freedesktop.secrets";
const SERVICE: &str = "org.freedesktop.Secret.Service";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";

fn attributes_of(service: &str) -> HashMap<&str, &str> {
    HashMap::from([("service", service)])
}

/// One method call to the Secret Service, its reply decoded.
fn ask<R: serde::de::DeserializeOwned + zbus::zvariant::Type>(
    connection: &zbus::blocking::Connection,
    path: &str,
    interface: &str,
    method: &str,
    body: &(impl serde::Serialize + zbus::zvariant::DynamicType),
) -> Result<R, StoreError> {
    let reply = connection
        .call_method(Some(SECRETS), path, Some(interface), method, body)
        .map_err(|e| StoreError::Other(format!("{method}: {e}")))?;
    reply
        .body()
        .deserialize()
        .map_err(|e| StoreError::Other(format!("{method}: {e}")))
}

/// The `username` attribute of an item, if it has one.
async fn user_name(
    connection: &zbus::Connection,
    item: &OwnedObjectPath,
) -> Result<Option<String>, StoreError> {
    let reply = connection
        .call_method(
            Some(SECRETS),
            item.as_str(),
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.freedesktop.Secret.Item", "Attributes"),
        )
        .await
        .map_err(|e| StoreError::Other(format!("reading an item's attributes: {e}")))?;
    let value: OwnedValue = reply
        .body()
        .deserialize()
        .map_err(|e| StoreError::Other(format!("reading an item's attributes: {e}")))?;
    let attributes = HashMap::<String, String>::try_from(value)
        .map_err(|e| StoreError::Other(format!("reading an item's attributes: {e}")))?;
    Ok(attributes.get("username").cloned())
}

/// Delete an entry; `false` if there was none.
pub fn delete(bus: Option<&str>, service: &str, user: &str) -> Result<bool, StoreError> {
    with_service(bus, |ss| {
        let found = ss
            .service
            .search_items(attributes(service, user))
            .map_err(failure)?;
        if !found.locked.is_empty() {
            return Err(StoreError::Locked(format!("the collection holding {user}")));
        }
        for item in &found.unlocked {
            item.delete().map_err(failure)?;
        }
        Ok(!found.unlocked.is_empty())
    })
}

/// Whether a Secret Service runs on the bus (owns `org.freedesktop.secrets`); blocking,
/// bounded by the D-Bus call timeout. One that could only be started by D-Bus activation
/// does not count: started where nobody logged in, it has no unlocked collection.
pub fn has_secret_service(bus: &str, timeout: Duration) -> bool {
    let connection = zbus::blocking::connection::Builder::address(bus)
        .and_then(|builder| builder.method_timeout(timeout).build());
    let Ok(connection) = connection else {
        return false;
    };
    let Ok(dbus) = zbus::blocking::fdo::DBusProxy::new(&connection) else {
        return false;
    };
    let name = zbus::names::BusName::try_from("org.freedesktop.secrets").expect("a valid bus name");
    dbus.name_has_owner(name).unwrap_or(false)
}
