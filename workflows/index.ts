// The worker's workflow bundle entry: every workflow type lives here.
export { downloadWorkflow } from './download';
export { downloadsControlWorkflow } from './control';
export { playlistWorkflow } from './playlist';
export { closeStaleIncidentsWorkflow, monitorAlertWorkflow, pruneAttemptsWorkflow } from './monitoring';
