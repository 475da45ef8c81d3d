################################################################################
#
# neurite
#
################################################################################

NEURITE_VERSION = $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' $(call qstrip,$(BR2_PACKAGE_NEURITE_APP_DIR))/manifest.json 2>/dev/null)
NEURITE_SITE = $(call qstrip,$(BR2_PACKAGE_NEURITE_APP_DIR))
NEURITE_SITE_METHOD = local
NEURITE_LICENSE = Apache-2.0
NEURITE_DEPENDENCIES = $(if $(BR2_PACKAGE_NODEJS),nodejs,neurite-nodejs-bin)

define NEURITE_INSTALL_TARGET_CMDS
	rm -rf $(TARGET_DIR)/opt/neurite
	mkdir -p $(TARGET_DIR)/opt/neurite
	cp -a $(@D)/dist $(@D)/node_modules $(@D)/manifest.json $(TARGET_DIR)/opt/neurite/
	$(INSTALL) -D -m 0755 $(NEURITE_PKGDIR)/launch $(TARGET_DIR)/usr/libexec/neurite/launch
	$(INSTALL) -D -m 0755 $(NEURITE_PKGDIR)/run $(TARGET_DIR)/usr/libexec/neurite/run
	$(INSTALL) -D -m 0644 $(NEURITE_PKGDIR)/neurite.default $(TARGET_DIR)/etc/default/neurite
	ln -sf /usr/libexec/neurite/neurite $(TARGET_DIR)/usr/bin/neurite
	$(INSTALL) -D -m 0755 $(NEURITE_PKGDIR)/neurite $(TARGET_DIR)/usr/libexec/neurite/neurite
endef

# The unprivileged user the homeserver's processes run as (NEURITE_USER in
# /etc/default/neurite); the supervisor stays root for updates. No login.
define NEURITE_USERS
	neurite -1 neurite -1 * /data - - Neurite homeserver
endef

define NEURITE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(NEURITE_PKGDIR)/S90neurite $(TARGET_DIR)/etc/init.d/S90neurite
endef

$(eval $(generic-package))
