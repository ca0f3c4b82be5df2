<?php
// (Re)install the throwaway test site from PHP CLI with WordPress's own installer: a fresh
// database, the twentytwentythree theme, pretty permalinks, one user per role and an
// application password for each (the passwords are fixed once, so a reset keeps them). Usage: php setup.php SITE_DIR; the passwords ('admin:pw editor:pw ...') are in
// SITE_DIR/../passwords, written once by scripts/wordpress.sh.
if (PHP_SAPI !== 'cli') {
    exit(1);
}
$site = $argv[1];
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
require $site . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-includes/class-wp-application-passwords.php';

global $wpdb;
// A reset drops every table of the site, so each test starts from the installer's state.
foreach ($wpdb->get_col("SHOW TABLES") as $table) {
    $wpdb->query("DROP TABLE `$table`");
}
wp_cache_flush();

$passwords = [];
foreach (preg_split('/\s+/', trim(file_get_contents(dirname($site) . '/passwords'))) as $pair) {
    [$login, $password] = explode(':', $pair, 2);
    $passwords[$login] = $password;
}
$result = wp_install('backrank test site', 'admin', 'admin@example.test', true, '',
    wp_generate_password(24), 'en_US');
$admin_id = $result['user_id'];
switch_theme('twentytwentythree');
update_option('permalink_structure', '/%postname%/');
update_option('blogdescription', 'A throwaway WordPress for the backrank tests');
flush_rewrite_rules(true);

$users = ['admin' => $admin_id];
foreach (['editor', 'author', 'contributor'] as $role) {
    $users[$role] = wp_insert_user([
        'user_login' => $role,
        'user_pass' => wp_generate_password(24),
        'user_email' => "$role@example.test",
        'role' => $role,
        'display_name' => ucfirst($role),
    ]);
}
foreach ($users as $login => $id) {
    if (is_wp_error($id)) {
        fwrite(STDERR, "cannot create user $login: " . $id->get_error_message() . "\n");
        exit(1);
    }
    // WordPress's own API makes the item; its hash is then set to the known password, so the
    // password survives a reset and the tests need not be told a new one.
    [, $item] = WP_Application_Passwords::create_new_application_password($id, ['name' => 'backrank']);
    $items = WP_Application_Passwords::get_user_application_passwords($id);
    foreach ($items as &$stored) {
        if ($stored['uuid'] === $item['uuid']) {
            $stored['password'] = wp_hash_password($passwords[$login]);
        }
    }
    update_user_meta($id, WP_Application_Passwords::USERMETA_KEY_APPLICATION_PASSWORDS, $items);
}
echo "installed\n";
