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
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// The longest one D-Bus call to the Secret Service may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// One connection (and encrypted session) per bus, made on first use: opening them
/// costs a key exchange.
static CONNECTIONS: LazyLock<Mutex<HashMap<Option<String>, Arc<SecretService<'static>>>>> =
    LazyLock::new(Mutex::default);

/// Run `call` on the Secret Service of a bus. A connection that fails for any reason but
/// a locked or refusing keyring is dropped, so the next call connects afresh (the
/// provider may have restarted).
fn with_service<T>(
    bus: Option<&str>,
    call: impl FnOnce(&SecretService<'static>) -> Result<T, StoreError>,
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

fn connect(bus: Option<&str>) -> Result<SecretService<'static>, StoreError> {
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
    SecretService::connect_with_existing(EncryptionType::Dh, connection).map_err(|e| match e {
        Error::Unavailable | Error::ZbusFdo(_) => StoreError::Unavailable(format!(
            "no Secret Service (org.freedesktop.secrets) on {where_}"
        )),
        other => failure(other),
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
    with_service(bus, |ss| write_on(ss, service, user, secret))
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

/// Every unlocked entry of a service: (user name, secret).
pub fn list(bus: Option<&str>, service: &str) -> Result<Vec<(String, String)>, StoreError> {
    with_service(bus, |ss| {
        let found = ss
            .search_items(HashMap::from([("service", service)]))
            .map_err(failure)?;
        if !found.locked.is_empty() {
            return Err(StoreError::Locked(format!(
                "the collection holding {service}'s entries"
            )));
        }
        let mut entries = Vec::new();
        for item in &found.unlocked {
            let attributes = item.get_attributes().map_err(failure)?;
            let Some(user) = attributes.get("username") else {
                continue;
            };
            let secret = item.get_secret().map_err(failure)?;
            let value = String::from_utf8(secret).map_err(|_| StoreError::Malformed {
                entry: user.clone(),
            })?;
            entries.push((user.clone(), value));
        }
        Ok(entries)
    })
}

/// Delete an entry; `false` if there was none.
pub fn delete(bus: Option<&str>, service: &str, user: &str) -> Result<bool, StoreError> {
    with_service(bus, |ss| {
        let found = ss
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
