//! A freedesktop notification service for tests, on the test's private bus: it records
//! every Notify call and can click an action, as a person would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zbus::blocking::connection;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedValue;

const PATH: &str = "/org/freedesktop/Notifications";

/// One Notify call.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: u32,
    pub app_name: String,
    pub summary: String,
    pub body: String,
    /// Pairs of (action id, label), flattened as on the wire.
    pub actions: Vec<String>,
}

struct Service {
    notices: Arc<Mutex<Vec<Notice>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut notices = self.notices.lock().unwrap();
        let id = notices.len() as u32 + 1;
        notices.push(Notice {
            id,
            app_name,
            summary,
            body,
            actions,
        });
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "mfad-test-notifications".into(),
            "mfad".into(),
            "1.0".into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

pub struct NotificationService {
    connection: zbus::blocking::Connection,
    notices: Arc<Mutex<Vec<Notice>>>,
}

impl NotificationService {
    pub fn start(bus_address: &str) -> Self {
        let notices = Arc::new(Mutex::new(Vec::new()));
        let service = Service {
            notices: notices.clone(),
        };
        let connection = connection::Builder::address(bus_address)
            .unwrap()
            .name("org.freedesktop.Notifications")
            .unwrap()
            .serve_at(PATH, service)
            .unwrap()
            .build()
            .unwrap();
        Self {
            connection,
            notices,
        }
    }

    pub fn notices(&self) -> Vec<Notice> {
        self.notices.lock().unwrap().clone()
    }

    /// Click an action of a notification.
    pub fn invoke(&self, id: u32, action: &str) {
        let interface = self
            .connection
            .object_server()
            .interface::<_, Service>(PATH)
            .unwrap();
        zbus::block_on(Service::action_invoked(
            interface.signal_emitter(),
            id,
            action,
        ))
        .unwrap();
    }
}
