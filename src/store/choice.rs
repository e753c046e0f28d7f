//! Which secret store serves a request or a command: one rule, used by the daemon for
//! each caller and by the commands that touch the store themselves (`mfad add`, `mfad
//! totp`, `mfad store`), so that both always agree.

/// The `store` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreBackend {
    /// The Secret Service when the session bus has one, the Keychain on macOS, else the
    /// file store.
    Auto,
    SecretService,
    Keychain,
    File,
}

impl StoreBackend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::SecretService => "secret-service",
            Self::Keychain => "keychain",
            Self::File => "file",
        }
    }
}

/// The store chosen, before it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// The Secret Service on this session bus (`None`: the process's own).
    SecretService {
        bus: Option<String>,
    },
    Keychain,
    /// The encrypted file store, whether or not it was created yet: if not, opening it
    /// says so and how to create it.
    File,
}

/// The rule. A backend set explicitly is used as set. `auto` takes the Keychain on macOS;
/// elsewhere the Secret Service when the session bus has one, which `has_service` finds
/// out within a bound (a bus that does not answer in time has none), else the file store.
pub fn choose(
    backend: StoreBackend,
    bus: Option<&str>,
    has_service: impl FnOnce(&str) -> bool,
) -> Chosen {
    let on_bus = || Chosen::SecretService {
        bus: bus.map(str::to_owned),
    };
    match backend {
        StoreBackend::SecretService => on_bus(),
        StoreBackend::Keychain => Chosen::Keychain,
        StoreBackend::File => Chosen::File,
        StoreBackend::Auto if cfg!(target_os = "macos") => Chosen::Keychain,
        StoreBackend::Auto => match bus {
            Some(address) if has_service(address) => on_bus(),
            _ => Chosen::File,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the session bus is like.
    #[derive(Debug, Clone, Copy)]
    enum Bus {
        None,
        WithoutProvider,
        WithProvider,
        /// A provider that never answers: the probe gives up within its bound.
        Hung,
    }

    #[test]
    fn every_combination_has_one_answer() {
        use StoreBackend::*;
        let buses = [
            Bus::None,
            Bus::WithoutProvider,
            Bus::WithProvider,
            Bus::Hung,
        ];
        for backend in [Auto, SecretService, Keychain, File] {
            for bus in buses {
                // The file store's existence never changes the choice, only what opening
                // it says.
                for _file_store_exists in [false, true] {
                    let address = match bus {
                        Bus::None => None,
                        _ => Some("unix:path=/run/user/1/bus"),
                    };
                    let has_service = |_: &str| matches!(bus, Bus::WithProvider);
                    let chosen = choose(backend, address, has_service);
                    let on_bus = Chosen::SecretService {
                        bus: address.map(str::to_owned),
                    };
                    let expected = match (backend, bus) {
                        (SecretService, _) => on_bus,
                        (Keychain, _) => Chosen::Keychain,
                        (File, _) => Chosen::File,
                        (Auto, _) if cfg!(target_os = "macos") => Chosen::Keychain,
                        (Auto, Bus::WithProvider) => on_bus,
                        (Auto, Bus::None | Bus::WithoutProvider | Bus::Hung) => Chosen::File,
                    };
                    assert_eq!(chosen, expected, "{backend:?} with {bus:?}");
                }
            }
        }
    }

    #[test]
    fn the_bus_is_asked_only_when_auto_needs_it() {
        let asked = std::cell::Cell::new(0);
        let probe = |_: &str| {
            asked.set(asked.get() + 1);
            true
        };
        choose(StoreBackend::File, Some("bus"), probe);
        choose(StoreBackend::SecretService, Some("bus"), probe);
        choose(StoreBackend::Auto, None, probe);
        assert_eq!(asked.get(), 0);
        choose(StoreBackend::Auto, Some("bus"), probe);
        assert_eq!(asked.get(), usize::from(!cfg!(target_os = "macos")));
    }
}
