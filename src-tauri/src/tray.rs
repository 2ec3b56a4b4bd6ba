//! The tray: how many sessions run and how many wait for the user, show/hide, new session, the
//! close-to-tray setting, quit.

use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::shell::{self, Counts, Shell, UiAction};

/// The tray and the menu items whose text follows the counts.
pub struct Tray {
    icon: TrayIcon,
    running: MenuItem<Wry>,
    attention: MenuItem<Wry>,
}

pub fn build(app: &AppHandle, close_to_tray: bool) -> tauri::Result<Tray> {
    let running = MenuItem::with_id(app, "running", "No session running", false, None::<&str>)?;
    let attention = MenuItem::with_id(app, "attention", "None needs you", false, None::<&str>)?;
    let toggle = MenuItem::with_id(app, "toggle", "Show/Hide Grove", true, None::<&str>)?;
    let new_session = MenuItem::with_id(app, "new-session", "New Session…", true, None::<&str>)?;
    let keep = CheckMenuItem::with_id(
        app,
        "close-to-tray",
        "Keep Running When the Window Closes",
        true,
        close_to_tray,
        None::<&str>,
    )?;
    let update = MenuItem::with_id(app, "update", "Check for Updates…", true, None::<&str>)?;
    if let Some(updates) = app.try_state::<crate::update::Updates>() {
        updates.set_tray_item(update.clone());
    }
    let quit = MenuItem::with_id(app, "quit", "Quit Grove", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &running,
            &attention,
            &PredefinedMenuItem::separator(app)?,
            &toggle,
            &new_session,
            &keep,
            &update,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id("grove")
        .menu(&menu)
        .tooltip("Grove")
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| match event.id().as_ref() {
            "toggle" => shell::toggle_main(app),
            "new-session" => shell::dispatch(app, UiAction::NewSession),
            "close-to-tray" => {
                let shell = app.state::<Shell>();
                shell.set_close_to_tray(!shell.close_to_tray());
            }
            "update" => crate::update::from_tray(app),
            "quit" => shell::request_quit(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                shell::toggle_main(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    Ok(Tray {
        icon,
        running,
        attention,
    })
}

impl Tray {
    pub fn show(&self, c: Counts) {
        let running = match c.running {
            0 => "No session running".to_owned(),
            1 => "1 session running".to_owned(),
            n => format!("{n} sessions running"),
        };
        let attention = match c.attention {
            0 => "None needs you".to_owned(),
            1 => "1 needs attention".to_owned(),
            n => format!("{n} need attention"),
        };
        let _ = self.running.set_text(&running);
        let _ = self.attention.set_text(&attention);
        let _ = self
            .icon
            .set_tooltip(Some(format!("Grove — {running}, {attention}")));
        // Linux shows no tooltips on indicators: a short title next to the icon instead.
        #[cfg(target_os = "linux")]
        let _ = self.icon.set_title(Some(if c.attention > 0 {
            format!("{} ● {}", c.running, c.attention)
        } else {
            c.running.to_string()
        }));
    }
}
