include $(sort $(wildcard $(BR2_EXTERNAL_NEURITE_PATH)/package/*/*.mk))
